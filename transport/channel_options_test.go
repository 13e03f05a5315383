package transport_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

// endedAtOnce waits briefly for a stream that must have ended before
// starting, and returns its error.
func endedAtOnce[T any](t *testing.T, s *transport.Stream[T]) error {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		s.Close()
		t.Fatal("the stream runs: invalid options were accepted")
	}
	if _, open := <-s.C; open {
		t.Fatal("the stream sent a value")
	}
	return s.Err()
}

// TestChannelOptionsValidated: every ChannelOptions field is checked before
// anything is allocated. Before, a Buffer or BatchSize of 1<<40 killed the
// process ("fatal error: out of memory" in make(chan)), and negative values
// were silently replaced by defaults.
func TestChannelOptionsValidated(t *testing.T) {
	fake := transporttest.NewFake(transporttest.FakeOptions{})
	defer fake.Close()
	streams := map[string]func(*testing.T, transport.ChannelOptions) error{
		"Records": func(t *testing.T, o transport.ChannelOptions) error {
			return endedAtOnce(t, transport.Records(context.Background(), fake, o))
		},
		"Batches": func(t *testing.T, o transport.ChannelOptions) error {
			return endedAtOnce(t, transport.Batches(context.Background(), fake, o))
		},
		"NewStream": func(t *testing.T, o transport.ChannelOptions) error {
			return endedAtOnce(t, transport.NewStream(context.Background(), fake, o, func(send func(int) error) transport.Handler {
				return func(transport.Record) error { return send(1) }
			}))
		},
	}
	for _, tc := range []struct {
		field string
		value int
		opts  transport.ChannelOptions
	}{
		{"Buffer", 1 << 40, transport.ChannelOptions{Buffer: 1 << 40}},
		{"Buffer", -1, transport.ChannelOptions{Buffer: -1}},
		{"BatchSize", 1 << 40, transport.ChannelOptions{BatchSize: 1 << 40}},
		{"BatchSize", -5, transport.ChannelOptions{BatchSize: -5}},
		{"ChunkBytes", -1, transport.ChannelOptions{ChunkBytes: -1}},
		{"ChunkBytes", 1 << 40, transport.ChannelOptions{ChunkBytes: 1 << 40, Borrow: true}},
	} {
		for name, stream := range streams {
			t.Run(fmt.Sprintf("%s/%s=%d", name, tc.field, tc.value), func(t *testing.T) {
				err := stream(t, tc.opts)
				if !errors.Is(err, transport.ErrInvalidOptions) {
					t.Fatalf("Err() = %v, want ErrInvalidOptions", err)
				}
				msg := err.Error()
				for _, want := range []string{"ChannelOptions." + tc.field, fmt.Sprint(tc.value), "want 0 (the default) to "} {
					if !strings.Contains(msg, want) {
						t.Errorf("error %q does not say %q", msg, want)
					}
				}
			})
		}
	}
}

// TestStreamNilArguments: a nil consumer or context ends the stream at once
// with an error, instead of a panic on the stream's goroutine.
func TestStreamNilArguments(t *testing.T) {
	fake := transporttest.NewFake(transporttest.FakeOptions{})
	defer fake.Close()
	//lint:ignore SA1012 the nil context is the case under test
	err := endedAtOnce(t, transport.Records(nil, fake, transport.ChannelOptions{}))
	if !errors.Is(err, transport.ErrInvalidOptions) || !strings.Contains(err.Error(), "context is nil") {
		t.Errorf("nil context: %v", err)
	}
	err = endedAtOnce(t, transport.Batches(context.Background(), nil, transport.ChannelOptions{}))
	if !errors.Is(err, transport.ErrInvalidOptions) || !strings.Contains(err.Error(), "consumer is nil") {
		t.Errorf("nil consumer: %v", err)
	}
}

// TestChannelOptionsAtTheirBounds: the largest allowed values are accepted
// (the stream runs until closed).
func TestChannelOptionsAtTheirBounds(t *testing.T) {
	fake := transporttest.NewFake(transporttest.FakeOptions{})
	defer fake.Close()
	s := transport.Batches(context.Background(), fake, transport.ChannelOptions{BatchSize: 1 << 16, Buffer: 1 << 16, ChunkBytes: 1 << 20})
	select {
	case <-s.Done():
		t.Fatalf("the stream ended: %v", s.Err())
	case <-time.After(50 * time.Millisecond):
	}
	s.Close()
	if err := s.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err after Close: %v", err)
	}
}
