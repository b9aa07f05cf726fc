package loadgen

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// RaiseFileLimit raises this process's RLIMIT_NOFILE soft limit to the
// hard limit, first raising the hard limit to want when it is lower and
// that is allowed (CAP_SYS_RESOURCE). Child processes inherit the result.
// It returns the new soft limit and an error when that is below want.
func RaiseFileLimit(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("loadgen: getrlimit: %w", err)
	}
	if lim.Cur >= want && lim.Cur == lim.Max {
		return lim.Cur, nil
	}
	next := lim
	if next.Max < want {
		next.Max = want
	}
	next.Cur = next.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err != nil {
		// Not allowed to raise the hard limit: take what it allows.
		next = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		if err2 := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err2 != nil {
			return lim.Cur, fmt.Errorf("loadgen: setrlimit: %w", err2)
		}
		if next.Cur < want {
			return next.Cur, fmt.Errorf("loadgen: open-file limit %d < %d needed: %w", next.Cur, want, err)
		}
	}
	return next.Cur, nil
}

// procStats reads a process's memory and CPU time from /proc.
type procStats struct {
	pid  int
	cpu0 float64
}

// rss is VmRSS in bytes (0 when unreadable).
func (p *procStats) rss() int64 { return vmRSS(p.pid) }

func (p *procStats) markCPU() { p.cpu0 = procCPU(p.pid) }

func (p *procStats) cpuSince() float64 { return procCPU(p.pid) - p.cpu0 }

func vmRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(rest)
			if len(f) == 2 && string(f[1]) == "kB" {
				kb, err := strconv.ParseInt(string(f[0]), 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// procCPU is utime+stime of pid in seconds.
func procCPU(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return float64(ut+st) / clockTicks
}

// selfCPU is this process's user+system CPU time in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return (time.Duration(ru.Utime.Nano()) + time.Duration(ru.Stime.Nano())).Seconds()
}

// hostCPU is the machine's CPU time from /proc/stat, in seconds: busy
// (everything but idle, iowait and steal), the part of it spent in
// interrupts and softirqs (loopback TCP is processed there, mostly on
// behalf of the bench itself), and steal (time the hypervisor gave to
// other guests).
type hostCPU struct{ busy, irq, steal float64 }

func readHostCPU() hostCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return hostCPU{}
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return hostCPU{}
	}
	var v [8]float64
	for i := range v {
		n, err := strconv.ParseInt(string(f[i+1]), 10, 64)
		if err != nil {
			return hostCPU{}
		}
		v[i] = float64(n) / clockTicks
	}
	// user nice system idle iowait irq softirq steal
	return hostCPU{busy: v[0] + v[1] + v[2] + v[5] + v[6], irq: v[5] + v[6], steal: v[7]}
}

// loadAvg1 is the 1-minute load average (0 when unreadable).
func loadAvg1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(string(f[0]), 64)
	return v
}
