#include "textflag.h"

// func Run(addr, stride uintptr, n int)
TEXT ·Run(SB), NOSPLIT|NOFRAME, $0-24
	MOVQ	addr+0(FP), AX
	MOVQ	stride+8(FP), BX
	MOVQ	n+16(FP), CX
	TESTQ	CX, CX
	JLE	done
loop:
	PREFETCHT0	(AX)
	ADDQ	BX, AX
	DECQ	CX
	JNZ	loop
done:
	RET
