package event

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/leakcheck"
	"github.com/bpfstream/bpfstream/transport"
)

// fake is a minimal transport.Consumer that replays samples, then blocks
// until ctx is done or it is closed.
type fake struct {
	samples [][]byte
	once    sync.Once
	done    chan struct{}
	mu      sync.Mutex
	n       uint64
}

func newFake(samples ...[]byte) *fake { return &fake{samples: samples, done: make(chan struct{})} }

func (f *fake) Consume(ctx context.Context, h transport.Handler) error {
	for i, s := range f.samples {
		select {
		case <-f.done:
			return fmt.Errorf("fake: %w", transport.ErrClosed)
		default:
		}
		f.mu.Lock()
		f.n++
		f.mu.Unlock()
		if err := h(transport.Record{Sample: s, CPU: int32(i % 2), Source: 0}); err != nil {
			return fmt.Errorf("fake: handler: %w", err)
		}
	}
	select {
	case <-ctx.Done():
		return fmt.Errorf("fake: %w", ctx.Err())
	case <-f.done:
		return fmt.Errorf("fake: %w", transport.ErrClosed)
	}
}

func (f *fake) ConsumeBatches(ctx context.Context, h transport.BatchHandler) error {
	if h == nil {
		return f.Consume(ctx, nil)
	}
	return f.Consume(ctx, func(r transport.Record) error { return h([]transport.Record{r}) })
}

func (f *fake) Stats() transport.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return transport.Stats{Records: f.n}
}
func (f *fake) Kind() transport.Kind  { return transport.KindFake }
func (f *fake) Done() <-chan struct{} { return f.done }
func (f *fake) Close() error          { f.once.Do(func() { close(f.done) }); return nil }
func execSample(pid int32, file string) []byte {
	b := make([]byte, 536)
	binary.NativeEndian.PutUint32(b, uint32(pid))
	copy(b[4:], "comm")
	copy(b[20:], file)
	return b
}

func TestHandlerStopsOnErrors(t *testing.T) {
	dec := NewExecDecoder()
	stop := errors.New("stop")
	h := Handler(dec, func(*Exec, transport.Record) error { return stop }, nil)
	if err := h(transport.Record{Sample: execSample(1, "/a")}); err != stop {
		t.Errorf("fn error: %v", err)
	}
	h = Handler(dec, func(*Exec, transport.Record) error { return nil }, func(rec transport.Record, err error) error { return err })
	if err := h(transport.Record{Sample: []byte{1}}); !errors.Is(err, ErrShortSample) {
		t.Errorf("onErr error: %v", err)
	}
	if dec.Errors() != 1 {
		t.Errorf("Errors() = %d", dec.Errors())
	}
}

func TestHandlerAllocs(t *testing.T) {
	dec := NewExecDecoder()
	var pid int32
	h := Handler(dec, func(e *Exec, _ transport.Record) error { pid = e.Pid; return nil }, nil)
	rec := transport.Record{Sample: execSample(9, "/x")}
	if n := testing.AllocsPerRun(1000, func() { _ = h(rec) }); n != 0 {
		t.Errorf("%v allocs per record, want 0", n)
	}
	if pid != 9 {
		t.Errorf("pid %d", pid)
	}
}

func TestStream(t *testing.T) {
	leakcheck.Check(t)
	c := newFake(execSample(1, "/a"), []byte{1, 2}, execSample(2, "/b"), execSample(3, "/c"))
	dec := NewExecDecoder()
	s := NewStream(context.Background(), c, dec, StreamOptions{})
	t.Cleanup(func() { s.Close() })
	var got []string
	for it := range s.C {
		got = append(got, fmt.Sprintf("%d %s %d", it.Event.Pid, it.Event.Filename(), it.CPU))
		if len(got) == 3 {
			select {
			case <-s.Done():
				t.Error("stream ended while the consumer was open")
			default:
			}
			c.Close()
		}
	}
	if fmt.Sprint(got) != "[1 /a 0 2 /b 0 3 /c 1]" {
		t.Errorf("got %v", got)
	}
	if err := s.Err(); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Err = %v, want ErrClosed", err)
	}
	if dec.Errors() != 1 {
		t.Errorf("decode errors = %d, want 1", dec.Errors())
	}
}

func TestStreamContextAndClose(t *testing.T) {
	leakcheck.Check(t)
	// Nobody reads: the goroutine is blocked on a send and must still end.
	ctx, cancel := context.WithCancel(context.Background())
	s := NewStream(ctx, newFake(execSample(1, "/a"), execSample(2, "/b")), NewExecDecoder(), StreamOptions{})
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case <-s.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("stream did not end after cancel")
	}
	if err := s.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err = %v, want context.Canceled", err)
	}

	s = NewStream(context.Background(), newFake(execSample(1, "/a"), execSample(2, "/b")), NewExecDecoder(), StreamOptions{ChannelOptions: transport.ChannelOptions{Buffer: 1}})
	time.Sleep(10 * time.Millisecond)
	s.Close()
	s.Close()
	if _, ok := <-s.C; !ok {
		t.Error("buffered record lost by Close")
	}
	if _, ok := <-s.C; ok {
		t.Error("C open after Close")
	}

	// A consumer closed while the stream is blocked on a send.
	c := newFake(execSample(1, "/a"), execSample(2, "/b"))
	s = NewStream(context.Background(), c, NewExecDecoder(), StreamOptions{})
	time.Sleep(10 * time.Millisecond)
	c.Close()
	<-s.Done()
	if err := s.Err(); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Err = %v, want ErrClosed", err)
	}
}

func TestStreamDecodeErrorStops(t *testing.T) {
	leakcheck.Check(t)
	bad := errors.New("bad sample")
	s := NewStream(context.Background(), newFake([]byte{1}), NewExecDecoder(), StreamOptions{
		OnDecodeError: func(transport.Record, error) error { return bad },
	})
	for range s.C {
		t.Error("got a record")
	}
	if err := s.Err(); !errors.Is(err, bad) {
		t.Errorf("Err = %v", err)
	}
}
