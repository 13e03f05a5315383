package app

import (
	"bufio"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/bpfstream/bpfstream/bpf"
	"github.com/bpfstream/bpfstream/internal/testing/leakcheck"
	"github.com/bpfstream/bpfstream/internal/testing/privileged"
)

// TestMetricsServerShutdown runs the example in this process with -metrics
// and -stats: the endpoint answers while it runs, and when Run returns the
// port is closed and no goroutine (server, connections, stats) is left.
func TestMetricsServerShutdown(t *testing.T) {
	privileged.MountTracefs(t)
	leakcheck.Check(t)
	// No keep-alive connection of the test's client may outlive the test
	// either.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	pr, pw := io.Pipe()
	status := make(chan int, 1)
	go func() {
		status <- Run("execsnoop", bpf.Auto, true, []string{"-metrics", "127.0.0.1:0", "-stats", "50ms", "-duration", "2s"}, io.Discard, pw)
		pw.Close()
	}()
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var url string
	for l := range lines {
		if _, u, ok := strings.Cut(l, "execsnoop: metrics on "); ok {
			url = u
			break
		}
	}
	if url == "" {
		t.Fatalf("no metrics address (status %d)", <-status)
	}
	if err := exec.Command("/bin/true").Run(); err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("scrape while running: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `bpfstream_records_total{consumer="execsnoop",program=`) {
		t.Fatalf("scrape without records:\n%s", body)
	}

	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	if got := <-status; got != 0 {
		t.Fatalf("status %d, stderr %q", got, rest)
	}
	if len(rest) < 2 || !strings.HasPrefix(rest[0], "execsnoop: ") || !strings.Contains(rest[0], " records/s, ") ||
		!strings.Contains(rest[len(rest)-1], " received, ") {
		t.Errorf("want -stats lines then a summary, got %q", rest)
	}
	if _, err := client.Get(url); err == nil {
		t.Errorf("the metrics endpoint still answers after Run returned")
	}
}
