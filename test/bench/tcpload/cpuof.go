package main

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// cpuOfOptions holds the flags of the -cpu-of mode, which measures the CPU
// time of processes while another program (wrk) runs the load.
type cpuOfOptions struct {
	span   time.Duration // -for: how long the load runs from now
	margin time.Duration // -margin: left out at both ends of span
}

func (c cpuOfOptions) validate() error {
	var errs []error
	if c.span <= 0 {
		errs = append(errs, fmt.Errorf("-for %v: must be positive", c.span))
	}
	if c.margin < 0 {
		errs = append(errs, fmt.Errorf("-margin %v: must not be negative", c.margin))
	}
	if c.span > 0 && c.margin >= 0 && c.span <= 2*c.margin {
		errs = append(errs, fmt.Errorf("-for %v: must be longer than twice -margin %v", c.span, c.margin))
	}
	return errors.Join(errs...)
}

// cpuOf samples the CPU time of o.pids (and CPU o.core, if set) at
// c.margin from now and at c.span-c.margin from now, and returns one line:
//
//	seconds=4.50 cpu_us=4012345 cpu_pct=89.2 core_pct=90.1 steal_pct=0.0
//
// The script starts it together with a load of length c.span; the margins
// keep the load's connection set-up and tear-down out of the window.
func cpuOf(o options, c cpuOfOptions) (string, error) {
	now := time.Now()
	from := now.Add(c.margin)
	end := now.Add(c.span - c.margin)
	time.Sleep(time.Until(from))
	p0, c0, err := o.sampleCPU()
	if err != nil {
		return "", err
	}
	time.Sleep(time.Until(end))
	p1, c1, err := o.sampleCPU()
	if err != nil {
		return "", err
	}
	return cpuLine(o.clkTck, end.Sub(from), p1-p0, o.core >= 0, coreTicks{busy: c1.busy - c0.busy, steal: c1.steal - c0.steal}), nil
}

// cpuLine formats the -cpu-of result; ticks are in 1/clkTck seconds.
func cpuLine(clkTck int, window time.Duration, procTicks uint64, coreOK bool, core coreTicks) string {
	sec := window.Seconds()
	cpuUS := float64(procTicks) * 1e6 / float64(clkTck)
	var b strings.Builder
	fmt.Fprintf(&b, "seconds=%.2f cpu_us=%.0f cpu_pct=%.1f", sec, cpuUS, cpuUS/1e4/sec)
	if coreOK {
		pct := func(ticks uint64) float64 { return float64(ticks) * 100 / float64(clkTck) / sec }
		fmt.Fprintf(&b, " core_pct=%.1f steal_pct=%.1f", pct(core.busy), pct(core.steal))
	}
	return b.String()
}
