package privileged

import (
	"errors"
	"fmt"
	"testing"
)

// recorder records Skip and Fatal instead of ending the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Skip(args ...any)                  { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestSkipOrFail(t *testing.T) {
	err := errors.New("cannot load")
	t.Setenv(EnvRequire, "")
	r := &recorder{TB: t}
	skipOrFail(r, err)
	if r.skipped == "" || r.failed != "" {
		t.Errorf("without %s: skipped %q, failed %q", EnvRequire, r.skipped, r.failed)
	}
	t.Setenv(EnvRequire, "1")
	r = &recorder{TB: t}
	skipOrFail(r, err)
	if r.failed == "" || r.skipped != "" {
		t.Errorf("with %s=1: skipped %q, failed %q", EnvRequire, r.skipped, r.failed)
	}
}

func TestRequire(t *testing.T) {
	Require(t)
	MountTracefs(t)
	if err := Available(); err != nil {
		t.Fatal(err)
	}
}
