package output

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/transport"
)

func exec() *event.Exec {
	var e event.Exec
	e.Pid = 1234
	copy(e.RawComm[:], "bash")
	copy(e.RawFilename[:], "/usr/bin/ls")
	return &e
}

func TestTable(t *testing.T) {
	var buf bytes.Buffer
	p := NewPrinter(&buf, false)
	ts := time.Date(2024, 1, 2, 15, 4, 5, 6, time.UTC)
	if err := p.Header(); err != nil {
		t.Fatal(err)
	}
	if err := p.Print(ts, exec(), 3); err != nil {
		t.Fatal(err)
	}
	want := Header + "\n" + "15:04:05 EXEC  1234    bash             /usr/bin/ls\n"
	if buf.String() != want {
		t.Errorf("got\n%q\nwant\n%q", buf.String(), want)
	}
	// The header's columns line up with the rows'.
	lines := strings.Split(buf.String(), "\n")
	for _, col := range []string{"EVENT", "PID", "COMM", "FILENAME"} {
		i := strings.Index(lines[0], col)
		if lines[1][i-1] != ' ' || lines[1][i] == ' ' {
			t.Errorf("column %s at %d does not line up: %q", col, i, lines[1])
		}
	}
}

func TestJSON(t *testing.T) {
	var buf bytes.Buffer
	p := NewPrinter(&buf, true)
	ts := time.Date(2024, 1, 2, 15, 4, 5, 6, time.UTC)
	if err := p.Header(); err != nil {
		t.Fatal(err)
	}
	if err := p.Print(ts, exec(), transport.NoCPU); err != nil {
		t.Fatal(err)
	}
	want := `{"time":"2024-01-02T15:04:05.000000006Z","pid":1234,"comm":"bash","filename":"/usr/bin/ls","cpu":-1}` + "\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
	var ev JSONEvent
	if err := json.Unmarshal(buf.Bytes(), &ev); err != nil {
		t.Fatal(err)
	}
}

func TestSummary(t *testing.T) {
	if got := Summary("x", transport.Stats{Records: 5, Lost: 2, LostKnown: true}); got != "x: 5 records received, 2 lost" {
		t.Errorf("got %q", got)
	}
	if got := Summary("x", transport.Stats{Records: 1, Lost: 1, LostKnown: true}); got != "x: 1 record received, 1 lost" {
		t.Errorf("Summary = %q", got)
	}
	if got := Summary("x", transport.Stats{Records: 5}); got != "x: 5 records received, losses unknown" {
		t.Errorf("got %q", got)
	}
}
