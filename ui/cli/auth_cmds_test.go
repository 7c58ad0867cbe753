package cli

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"image/png"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// authCmds are the testscript commands of the auth*.txtar scripts; TestScripts
// merges them into its Params.Cmds. A script cannot know an authenticator
// code in advance, so it grabs the key `user totp enroll` prints and
// computes codes from it, as the person's phone would.
var authCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"grab-totp":  grabTOTP,
	"totp-stdin": totpStdin,
	"qr-png":     qrPNG,
}

var totpKeyRE = regexp.MustCompile(`otpauth://totp/[^?\s]+\?secret=([A-Z2-7]+)&`)

// grab-totp: set $TOTP_KEY to the key in the otpauth:// URI on the last stdout.
func grabTOTP(ts *testscript.TestScript, neg bool, args []string) {
	m := totpKeyRE.FindStringSubmatch(ts.ReadFile("stdout"))
	if m == nil {
		ts.Fatalf("no otpauth:// URI on stdout")
	}
	ts.Setenv("TOTP_KEY", m[1])
}

// totp-stdin FILE LINE...: write FILE with one LINE a line, replacing @code
// by the code of $TOTP_KEY for now and @next by the one for the next
// 30-second step (Ward accepts one step of drift; each code works once).
func totpStdin(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: totp-stdin FILE LINE...")
	}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(ts.Getenv("TOTP_KEY"))
	if err != nil || len(key) == 0 {
		ts.Fatalf("no $TOTP_KEY: run grab-totp after user totp enroll")
	}
	step := time.Now().Unix() / 30
	var b strings.Builder
	for _, line := range args[1:] {
		switch line {
		case "@code":
			line = hotpCode(key, step)
		case "@next":
			line = hotpCode(key, step+1)
		}
		b.WriteString(line + "\n")
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(b.String()), 0o600))
}

// hotpCode is RFC 4226 with 6 digits, written again here so the script
// checks Ward against an independent implementation.
func hotpCode(key []byte, counter int64) string {
	mac := hmac.New(sha1.New, key)
	binary.Write(mac, binary.BigEndian, counter)
	sum := mac.Sum(nil)
	off := sum[19] & 0xf
	v := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}

// qr-png FILE: FILE is a PNG, square, of a size a phone reads off a screen.
func qrPNG(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: qr-png FILE")
	}
	img, err := png.Decode(bytes.NewReader([]byte(ts.ReadFile(args[0]))))
	if err != nil {
		ts.Fatalf("%s is not a PNG: %v", args[0], err)
	}
	r := img.Bounds()
	if r.Dx() != r.Dy() || r.Dx() < 200 || r.Dx() > 1200 {
		ts.Fatalf("%s is %dx%d", args[0], r.Dx(), r.Dy())
	}
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if fi.Mode().Perm() != 0o600 {
		ts.Fatalf("%s has mode %v: it holds the key, it must be 0600", args[0], fi.Mode().Perm())
	}
}
