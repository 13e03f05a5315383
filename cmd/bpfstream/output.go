package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/cilium/ebpf/btf"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/transport"
)

// printer writes records to a buffered stdout.
type printer interface {
	// header writes what comes before the first record.
	header(w *bufio.Writer)
	// print writes one record, or returns why it does not decode.
	print(w *bufio.Writer, rec transport.Record) error
}

func newPrinter(format string, dec *event.BTFDecoder) (printer, error) {
	switch {
	case format == "hex":
		return &hexPrinter{}, nil
	case format == "text":
		return newTextPrinter(dec)
	case dec == nil:
		return &rawJSONPrinter{}, nil
	}
	cpuKey := `"cpu":`
	if _, err := dec.Field("cpu"); err == nil {
		cpuKey = `"_cpu":` // the record has a member named cpu
	}
	return &jsonPrinter{dec: dec, cpuKey: cpuKey}, nil
}

// jsonPrinter writes one JSON object per line: the record's members, and
// the CPU where the transport knows it.
type jsonPrinter struct {
	dec    *event.BTFDecoder
	cpuKey string
	buf    []byte
}

func (p *jsonPrinter) header(*bufio.Writer) {}

func (p *jsonPrinter) print(w *bufio.Writer, rec transport.Record) error {
	b, err := p.dec.AppendJSON(p.buf[:0], rec.Sample)
	if err != nil {
		return err
	}
	p.buf = b
	if rec.CPU != transport.NoCPU {
		w.WriteString(`{` + p.cpuKey)
		w.Write(strconv.AppendInt(nil, int64(rec.CPU), 10))
		if len(b) > 2 {
			w.WriteByte(',')
		}
		b = b[1:]
	}
	w.Write(b)
	return w.WriteByte('\n')
}

// rawJSONPrinter writes records without a type as JSON: their bytes in hex.
type rawJSONPrinter struct{}

func (rawJSONPrinter) header(*bufio.Writer) {}

func (rawJSONPrinter) print(w *bufio.Writer, rec transport.Record) error {
	if rec.CPU != transport.NoCPU {
		fmt.Fprintf(w, `{"cpu":%d,`, rec.CPU)
	} else {
		w.WriteByte('{')
	}
	fmt.Fprintf(w, `"len":%d,"data":"%x"}`+"\n", len(rec.Sample), rec.Sample)
	return nil
}

// hexPrinter writes each record as a hex dump under a line with its CPU
// and length, as bpftool does for perf event arrays.
type hexPrinter struct{}

func (hexPrinter) header(*bufio.Writer) {}

func (hexPrinter) print(w *bufio.Writer, rec transport.Record) error {
	if rec.CPU != transport.NoCPU {
		fmt.Fprintf(w, "cpu %d, ", rec.CPU)
	}
	fmt.Fprintf(w, "%d bytes:\n%s", len(rec.Sample), hex.Dump(rec.Sample))
	return nil
}

// textPrinter writes one line per record, one column per leaf member,
// aligned under a header line.
type textPrinter struct {
	dec    *event.BTFDecoder
	fields []*event.BTFField
	widths []int
	buf    []byte
}

// maxColumn bounds the width of a column: long strings push the next
// columns right instead of widening every line.
const maxColumn = 24

func newTextPrinter(dec *event.BTFDecoder) (*textPrinter, error) {
	p := &textPrinter{dec: dec}
	for _, path := range dec.Fields() {
		f, err := dec.Field(path)
		if err != nil {
			return nil, err
		}
		p.fields = append(p.fields, f)
		p.widths = append(p.widths, max(len(path), min(width(f.Type()), maxColumn)))
	}
	return p, nil
}

// width is how many characters a value of t usually takes.
func width(t btf.Type) int {
	switch t := t.(type) {
	case *btf.Int:
		return len(strconv.FormatUint(1<<(8*min(t.Size, 8))-1, 10)) // the largest unsigned value's digits
	case *btf.Enum:
		n := 1
		for _, v := range t.Values {
			n = max(n, len(v.Name))
		}
		return n
	case *btf.Array:
		return int(t.Nelems)
	}
	return 8
}

func (p *textPrinter) header(w *bufio.Writer) {
	for i, f := range p.fields {
		p.cell(w, i, []byte(f.Path()))
	}
	w.WriteByte('\n')
}

func (p *textPrinter) print(w *bufio.Writer, rec transport.Record) error {
	if err := p.dec.Check(rec.Sample); err != nil {
		_, err = p.dec.AppendJSON(nil, rec.Sample) // counts the error
		return err
	}
	for i, f := range p.fields {
		b, err := f.AppendText(p.buf[:0], rec.Sample)
		if err != nil {
			b = append(b[:0], '-') // a member beyond the variable area's end
		}
		p.buf = b
		p.cell(w, i, b)
	}
	return w.WriteByte('\n')
}

// cell writes column i holding s, padded unless it is the last.
func (p *textPrinter) cell(w *bufio.Writer, i int, s []byte) {
	if i > 0 {
		w.WriteByte(' ')
	}
	w.Write(s)
	if i < len(p.fields)-1 {
		for n := len(s); n < p.widths[i]; n++ {
			w.WriteByte(' ')
		}
	}
}
