package event

import (
	"bytes"
	"structs"
)

// Sizes of the fixed arrays in Exec (TASK_COMM_LEN and MAX_FILENAME_LEN in
// bpf/common.h).
const (
	TaskCommLen    = 16
	MaxFilenameLen = 512
)

// Exec mirrors struct event of bpfstream's reference exec programs:
//
//	struct event { int pid; char comm[16]; char filename[512]; };
//
// A test checks its size and field offsets against the BTF of the compiled
// objects.
type Exec struct {
	_ structs.HostLayout
	// Pid is the process id (the kernel's tgid) of the process that called
	// exec.
	Pid int32
	// RawComm is the task's command name, NUL-padded; see Comm.
	RawComm [TaskCommLen]byte
	// RawFilename is the executed path, NUL-terminated; see Filename.
	RawFilename [MaxFilenameLen]byte
}

// Comm returns the command name up to its first NUL.
func (e *Exec) Comm() string { return cString(e.RawComm[:]) }

// Filename returns the executed path up to its first NUL.
func (e *Exec) Filename() string { return cString(e.RawFilename[:]) }

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// NewExecDecoder returns a [Decoder] for [Exec].
func NewExecDecoder() *Decoder[Exec] {
	d, err := NewDecoder[Exec]()
	if err != nil {
		panic(err) // Exec has a fixed layout; a test covers this
	}
	return d
}
