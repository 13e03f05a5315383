package bench

import (
	"fmt"
	"time"

	"github.com/cilium/ebpf/ringbuf"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

// pace produces cfg.Events samples at cfg.Rate per second, as a steady
// producer would: every millisecond a small test run of Rate/1000 samples
// (below 1,000/s, one sample every 1/Rate s). A tick the producer misses
// is skipped, so the rate may come out lower, never higher.
func pace(p *producer.Producer, cfg Config) error {
	interval, per := time.Millisecond, cfg.Rate/1000
	if per < 1 {
		interval, per = time.Second/time.Duration(cfg.Rate), 1
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for left := cfg.Events; left > 0; {
		<-t.C
		n := min(per, left)
		if err := p.Run(cfg.ProducerCPU, n); err != nil {
			return err
		}
		left -= n
	}
	return nil
}

// discard empties the producer's rings, which a run without a consumer left
// full.
func discard(p *producer.Producer) error {
	for _, m := range rings(p) {
		rd, err := ringbuf.NewReader(m)
		if err != nil {
			return fmt.Errorf("bench: discard: %w", err)
		}
		var rec ringbuf.Record
		for rd.AvailableBytes() > 0 {
			if err := rd.ReadInto(&rec); err != nil {
				rd.Close()
				return fmt.Errorf("bench: discard: %w", err)
			}
		}
		rd.Close()
	}
	return nil
}
