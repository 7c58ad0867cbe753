package node

import (
	"io"
	"log"
	"os"
	"reflect"
	stdsync "sync"
	"time"
	"unsafe"

	stlogger "github.com/syncthing/syncthing/lib/logger"
	"github.com/syncthing/syncthing/lib/protocol"
)

// Syncthing logs to standard output through one process-wide logger that
// offers no way to change its writer (only the LOGGER_DISCARD environment
// variable, read before main runs). Ward's standard output belongs to its
// commands, and Syncthing's INFO lines name folders, devices and addresses,
// so its output is discarded here: the *log.Logger inside the default logger
// is reached by reflection and pointed at io.Discard. Warnings still reach
// Ward through a handler (kept in a small ring, shown by Status).
//
// This reaches an unexported field, so it is isolated here and tested
// (TestSyncthingIsQuiet): if a Syncthing upgrade renames the field, the test
// fails rather than Ward printing Syncthing's chatter. WARD_SYNCTHING_LOG=1
// keeps Syncthing's log on standard output, for debugging the transport.

var (
	quietOnce stdsync.Once
	quietOK   bool

	warnMu   stdsync.Mutex
	warnings []string
)

const maxWarnings = 20

func tameSyncthing() {
	quietOnce.Do(func() {
		// How long closing a connection waits to send its goodbye (default
		// 10 s). A peer that has stopped reading must not hold up Stop.
		protocol.CloseTimeout = time.Second
		if os.Getenv("WARD_SYNCTHING_LOG") != "" {
			quietOK = true // a developer asked to see Syncthing's log on standard output
		} else {
			quietOK = discardOutput(stlogger.DefaultLogger)
		}
		stlogger.DefaultLogger.AddHandler(stlogger.LevelWarn, func(_ stlogger.LogLevel, msg string) {
			warnMu.Lock()
			defer warnMu.Unlock()
			if len(warnings) == maxWarnings {
				warnings = append(warnings[:0], warnings[1:]...)
			}
			warnings = append(warnings, msg)
		})
	})
}

// discardOutput points l's inner *log.Logger at io.Discard.
func discardOutput(l stlogger.Logger) bool {
	v := reflect.ValueOf(l)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return false
	}
	f := v.Elem().FieldByName("logger")
	if !f.IsValid() || f.Type() != reflect.TypeOf((*log.Logger)(nil)) {
		return false
	}
	inner := *(**log.Logger)(unsafe.Pointer(f.UnsafeAddr()))
	if inner == nil {
		return false
	}
	inner.SetOutput(io.Discard)
	return true
}

// innerWriter is the writer Syncthing's logger uses now (for the test).
func innerWriter(l stlogger.Logger) io.Writer {
	f := reflect.ValueOf(l).Elem().FieldByName("logger")
	return (*(**log.Logger)(unsafe.Pointer(f.UnsafeAddr()))).Writer()
}

func recentWarnings() []string {
	warnMu.Lock()
	defer warnMu.Unlock()
	return append([]string(nil), warnings...)
}
