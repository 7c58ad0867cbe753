package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
)

// NewID returns a UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then
// random bits, so ids sort by creation time and never collide between
// workstations that cannot talk to each other.
func NewID() string {
	var u [16]byte
	if _, err := rand.Read(u[6:]); err != nil {
		panic("store: no randomness: " + err.Error()) // the OS is broken; nothing safe to do
	}
	ms := uint64(time.Now().UnixMilli())
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // variant 10
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

// HLC is a hybrid logical clock: wall-clock milliseconds in the high 48 bits
// and a counter in the low 16, so that writes on one node are strictly ordered
// even when its clock steps back, and a node that has seen a peer's write
// stamps its next write later than it. Last-writer-wins compares HLC values.
type HLC struct {
	mu   sync.Mutex
	last uint64
	Now  func() time.Time // nil = time.Now
}

// Next returns a timestamp later than every one this clock has issued or seen.
func (c *HLC) Next() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	wall := uint64(now().UnixMilli()) << 16
	if wall > c.last {
		c.last = wall
	} else {
		c.last++
	}
	return c.last
}

// Observe moves the clock past a timestamp seen from another node or read
// back from the database.
func (c *HLC) Observe(t uint64) {
	c.mu.Lock()
	if t > c.last {
		c.last = t
	}
	c.mu.Unlock()
}

// HLCTime is the wall-clock part of an HLC timestamp.
func HLCTime(t uint64) time.Time { return time.UnixMilli(int64(t >> 16)) }

func putUint64(b []byte, v uint64) { binary.BigEndian.PutUint64(b, v) }
