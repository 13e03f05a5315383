package bench_test

import "runtime"

func numCPU() int { return runtime.NumCPU() }
