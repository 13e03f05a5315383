// Package output prints exec events for the example programs: a fixed-width
// table or one JSON object per line, and the summary line printed at exit.
package output

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/transport"
)

// Header is the first line of the table format.
const Header = "TIME     EVENT PID     COMM             FILENAME"

// JSONEvent is one line of the JSON format.
type JSONEvent struct {
	Time     string `json:"time"` // RFC 3339 with nanoseconds
	Pid      int32  `json:"pid"`
	Comm     string `json:"comm"`
	Filename string `json:"filename"`
	CPU      int    `json:"cpu"` // -1 for ring buffers
}

// Printer writes events in the table or the JSON format. It buffers, and
// flushes after each event, so lines appear as events arrive.
type Printer struct {
	w    *bufio.Writer
	json bool
	enc  *json.Encoder
}

// NewPrinter returns a Printer writing to w, in JSON when jsonLines is set.
func NewPrinter(w io.Writer, jsonLines bool) *Printer {
	p := &Printer{w: bufio.NewWriter(w), json: jsonLines}
	p.enc = json.NewEncoder(p.w)
	return p
}

// Header writes the table header; in JSON mode it writes nothing.
func (p *Printer) Header() error {
	if p.json {
		return nil
	}
	fmt.Fprintln(p.w, Header)
	return p.w.Flush()
}

// Print writes one event received at t from cpu (transport.NoCPU for ring
// buffers).
func (p *Printer) Print(t time.Time, e *event.Exec, cpu int) error {
	if p.json {
		if err := p.enc.Encode(JSONEvent{
			Time:     t.Format(time.RFC3339Nano),
			Pid:      e.Pid,
			Comm:     e.Comm(),
			Filename: e.Filename(),
			CPU:      cpu,
		}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(p.w, "%-8s %-5s %-7d %-16s %s\n", t.Format("15:04:05"), "EXEC", e.Pid, e.Comm(), e.Filename())
	}
	return p.w.Flush()
}

// Summary returns the line printed to stderr at exit: how many records the
// consumer received and how many were lost.
func Summary(name string, s transport.Stats) string {
	return fmt.Sprintf("%s: %s received, %s", name, Count(s.Records, "record"), Losses(s))
}

// Losses says what Stats knows about losses and decode failures: "3 lost",
// "losses unknown", with ", 2 undecodable" when records failed to decode.
func Losses(s transport.Stats) string {
	text := fmt.Sprintf("%d lost", s.Lost)
	if !s.LostKnown {
		text = "losses unknown"
	}
	if s.DecodeErrors > 0 {
		text += fmt.Sprintf(", %d undecodable", s.DecodeErrors)
	}
	return text
}

// Count returns "1 record" or "n records" (unit in the singular, plural with
// an s).
func Count(n uint64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
