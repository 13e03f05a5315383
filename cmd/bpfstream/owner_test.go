package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// ownerEnv makes the test binary the owner of a map: it loads the object
// in $BPFSTREAM_TEST_OWNER, attaches its programs, pins the map named
// $BPFSTREAM_TEST_MAP at $BPFSTREAM_TEST_PIN, prints the map's id, and
// holds all of it, reading nothing, until its stdin closes.
const ownerEnv = "BPFSTREAM_TEST_OWNER"

// mainEnv makes the test binary run the command with the arguments in
// $BPFSTREAM_TEST_MAIN, as its own process, for tests that send it signals.
const mainEnv = "BPFSTREAM_TEST_MAIN"

func TestMain(m *testing.M) {
	if args := os.Getenv(mainEnv); args != "" {
		os.Exit(Main(strings.Fields(args), os.Stdout, os.Stderr))
	}
	if obj := os.Getenv(ownerEnv); obj != "" {
		os.Exit(own(obj, os.Getenv("BPFSTREAM_TEST_MAP"), os.Getenv("BPFSTREAM_TEST_PIN")))
	}
	os.Exit(m.Run())
}

func own(obj, mapName, pin string) int {
	coll, err := ebpf.LoadCollection(obj)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	defer coll.Close()
	spec, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	links, err := attachAll(spec, coll, io.Discard)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	defer func() {
		for _, l := range links {
			l.Close()
		}
	}()
	m := coll.Maps[mapName]
	if err := m.Pin(pin); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	info, err := m.Info()
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	id, _ := info.ID()
	fmt.Println("id", id)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// owner is a process that owns a pinned map.
type owner struct {
	pin string
	id  int
}

// startOwner starts a process that loads obj, attaches it and pins its
// map mapName in a bpffs mounted in a temporary directory; it stops at the
// end of the test.
func startOwner(t *testing.T, obj, mapName string) owner {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, unix.Mount("bpf", dir, "bpf", 0, ""))
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	pin := dir + "/" + mapName
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), ownerEnv+"="+obj, "BPFSTREAM_TEST_MAP="+mapName, "BPFSTREAM_TEST_PIN="+pin)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		stdin.Close()
		require.NoError(t, cmd.Wait())
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	idText, ok := strings.CutPrefix(strings.TrimSpace(line), "id ")
	require.True(t, ok, "owner: %s", line)
	id, err := strconv.Atoi(idText)
	require.NoError(t, err)
	return owner{pin: pin, id: id}
}
