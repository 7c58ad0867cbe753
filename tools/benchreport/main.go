// Command benchreport turns `go test -bench` output into docs/BENCHMARKS.md:
// every figure that has a target is shown beside the baseline measured in
// the same run, as a ratio, with the machine and the date.
//
//	go test -bench . ./... | go run ./tools/benchreport > docs/BENCHMARKS.md
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// result is one benchmark line: its metrics by unit (ns/op, p99-ms, …).
type result map[string]float64

var lineRE = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+(\d+)\s+(.*)$`)

func parse(r io.Reader) (map[string]result, string) {
	res := map[string]result{}
	cpu := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "cpu: "); ok {
			cpu = c
		}
		m := lineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		f := strings.Fields(m[4])
		rr := result{}
		for i := 0; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				rr[f[i+1]] = v
			}
		}
		res[m[1]] = rr
	}
	return res, cpu
}

// A comparison row: subject vs baseline on one metric, and the target.
type comparison struct {
	what, subject, baseline, metric string
	// target: the ratio (or, with absolute, the subject's value) must be ≤ max (or ≥ min).
	max, min float64
	absolute bool
	unit     string
}

var comparisons = []comparison{
	{what: "Patient search p99, 1M patients", subject: "BenchmarkSearch/patients=1000000/encrypted", metric: "p99-ms", max: 10, absolute: true, unit: "ms"},
	{what: "Patient search p50, 1M patients", subject: "BenchmarkSearch/patients=1000000/encrypted", metric: "p50-ms", absolute: true, unit: "ms"},
	{what: "Patient search p99, 100k patients", subject: "BenchmarkSearch/patients=100000/encrypted", metric: "p99-ms", absolute: true, unit: "ms"},
	{what: "Search, encrypted / no key, 1M (mean)", subject: "BenchmarkSearch/patients=1000000/encrypted", baseline: "BenchmarkSearch/patients=1000000/nokey", metric: "ns/op", max: 1.3},
	{what: "Search, encrypted / no key, 100k (mean)", subject: "BenchmarkSearch/patients=100000/encrypted", baseline: "BenchmarkSearch/patients=100000/nokey", metric: "ns/op", max: 1.3},
	{what: "Write tx with audit entry / without", subject: "BenchmarkWrite/with-audit", baseline: "BenchmarkWrite/without-audit", metric: "ns/op", max: 1.15},
	// store's settings: 64 MiB cache, cipher_memory_security off.
	{what: "Audit verify, entries per second", subject: "BenchmarkVerify/memsecOff", metric: "entries/s", min: 1e6, absolute: true, unit: "entries/s"},
	{what: "Audit verify / raw SHA-256 of the same bytes", subject: "BenchmarkVerify/memsecOff", baseline: "BenchmarkRawSHA256", metric: "ns/entry"},
	{what: "Audit verify / bare scan of the same rows", subject: "BenchmarkVerify/memsecOff", baseline: "BenchmarkRawScan/memsecOff", metric: "ns/entry"},
	{what: "Chart read through the door / bare read transaction", subject: "BenchmarkChartRead/door", baseline: "BenchmarkChartRead/bare", metric: "ns/op", max: 1.2},
	{what: "Chart read through the door / bare transaction with one durable write", subject: "BenchmarkChartRead/door", baseline: "BenchmarkChartRead/bare-write", metric: "ns/op", max: 1.2},
	{what: "Password sign-in (argon2id), at least 0.2 s", subject: "BenchmarkSignIn", metric: "s", min: 0.2, absolute: true, unit: "s"},
	{what: "Password sign-in (argon2id), at most 1 s", subject: "BenchmarkSignIn", metric: "s", max: 1, absolute: true, unit: "s"},
	{what: "`ward demo --patients 100000`", subject: "BenchmarkDemo100k", metric: "s", max: 60, absolute: true, unit: "s"},
	// The window, under Xvfb with software GL (Mesa llvmpipe), which inflates memory for every window alike.
	{what: "GUI cold start to the sign-in screen (median of 5)", subject: "BenchmarkGUIColdStart", metric: "s", max: 1, absolute: true, unit: "s"},
	{what: "GUI idle RSS, 100k-patient clinic, above an empty Fyne window", subject: "BenchmarkGUIIdle", metric: "extra-MB", max: 60, absolute: true, unit: "MB"},
	{what: "GUI idle RSS of an empty Fyne window (the baseline)", subject: "BenchmarkGUIIdle", metric: "empty-MB", absolute: true, unit: "MB"},
	{what: "GUI idle CPU, no text field focused", subject: "BenchmarkGUIIdle", metric: "cpu-%", max: 2, absolute: true, unit: "% of a core"},
	{what: "GUI idle CPU of an empty Fyne window (the baseline: Fyne's 60 Hz event loop)", subject: "BenchmarkGUIIdle", metric: "empty-cpu-%", absolute: true, unit: "% of a core"},
	{what: "Search as you type, keystroke to results painted, p99, 100k patients", subject: "BenchmarkSearchAsYouType", metric: "p99-ms", max: 100, absolute: true, unit: "ms"},
	{what: "Search as you type, slowest keystroke, 100k patients", subject: "BenchmarkSearchAsYouType", metric: "max-ms", absolute: true, unit: "ms"},
	// The replica (sync): applying peers' segments, and joining by snapshot.
	{what: "Replica: apply a segment of 1000 changes", subject: "BenchmarkApply", metric: "ms/segment", absolute: true, unit: "ms"},
	{what: "Replica: changes applied per second", subject: "BenchmarkApply", metric: "changes/s", absolute: true, unit: "changes/s"},
	{what: "New workstation joins a 100k-patient clinic (snapshot written + installed)", subject: "BenchmarkJoin100k", metric: "s", max: 60, absolute: true, unit: "s"},
	// The replica's transport (sync/node): three nodes on 127.0.0.1, write + scan on one → arrival on another.
	{what: "Replica lag (transport), median, 3 nodes, writes at a clinic's pace", subject: "BenchmarkReplicaLag/paced", metric: "median-ms", max: 300, absolute: true, unit: "ms"},
	{what: "Replica lag (transport), p99, 3 nodes, writes at a clinic's pace", subject: "BenchmarkReplicaLag/paced", metric: "p99-ms", max: 1000, absolute: true, unit: "ms"},
	{what: "Replica lag (transport), median, 3 nodes, back-to-back writes", subject: "BenchmarkReplicaLag/burst", metric: "median-ms", max: 300, absolute: true, unit: "ms"},
	{what: "Replica lag (transport), p99, 3 nodes, back-to-back writes", subject: "BenchmarkReplicaLag/burst", metric: "p99-ms", max: 1000, absolute: true, unit: "ms"},
	// The whole app (app/replica_nodes_test.go): three full workstations, a registration through a session on A → committed on B and C.
	{what: "Replica lag (app), median, commit on A → committed on B and C, 3 workstations", subject: "BenchmarkWardReplicaLag", metric: "median-ms", max: 300, absolute: true, unit: "ms"},
	{what: "Replica lag (app), p99, commit on A → committed on B and C, 3 workstations", subject: "BenchmarkWardReplicaLag", metric: "p99-ms", max: 1000, absolute: true, unit: "ms"},
	{what: "Idle node RSS (a process running one node, 2 peers connected)", subject: "BenchmarkIdleNodeRSS", metric: "rss-MB", max: 80, absolute: true, unit: "MB"},
	{what: "Idle node CPU, % of one core", subject: "BenchmarkIdleNodeRSS", metric: "cpu-%", absolute: true, unit: "%"},
	// 100k patients and 200k audit entries (app/backup_bench_test.go).
	{what: "Backup of a 100k-patient clinic (`ward backup`)", subject: "BenchmarkBackup100k/backup", metric: "s", max: 10, absolute: true, unit: "s"},
	{what: "Restore + verification, 100k patients (`ward restore`)", subject: "BenchmarkBackup100k/restore", metric: "s", max: 30, absolute: true, unit: "s"},
	{what: "Restore drill, 100k patients (`ward backup verify`)", subject: "BenchmarkBackup100k/verify", metric: "s", absolute: true, unit: "s"},
}

func main() {
	res, cpu := parse(os.Stdin)
	goVersion := runtime.Version()
	kernel, _ := exec.Command("uname", "-sr").Output()
	fmt.Printf("# Benchmarks\n\nMade by `make bench` on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Printf("Machine: %s, %d cores, %s, %s. Database: SQLCipher 4.4.2 (SQLite 3.33, libtomcrypt, no AES-NI).\n\n",
		firstNonEmpty(cpu, "unknown CPU"), runtime.NumCPU(), strings.TrimSpace(string(kernel)), goVersion)
	fmt.Println("Ratios compare two benchmarks of the same run on the same machine.")
	fmt.Println()
	fmt.Println("| measure | value | baseline | ratio | target | met |")
	fmt.Println("|---|---|---|---|---|---|")
	failed := 0
	for _, c := range comparisons {
		s, ok := res[c.subject][c.metric]
		if !ok {
			fmt.Printf("| %s | not run | | | | |\n", c.what)
			continue
		}
		value, baseline, ratio := fmtNum(s)+" "+c.unit, "", ""
		judged := s
		if c.baseline != "" {
			b, ok := res[c.baseline][c.metric]
			if !ok || b == 0 {
				fmt.Printf("| %s | %s | not run | | | |\n", c.what, value)
				continue
			}
			value, baseline = fmtNum(s)+" "+c.metric, fmtNum(b)+" "+c.metric
			ratio = fmt.Sprintf("%.2f×", s/b)
			if !c.absolute {
				judged = s / b
			}
		}
		target, met := "", ""
		switch {
		case c.max > 0:
			target = "≤ " + fmtNum(c.max)
			met = yes(judged <= c.max)
		case c.min > 0:
			target = "≥ " + fmtNum(c.min)
			met = yes(judged >= c.min)
		}
		if met == "no" {
			failed++
		}
		if c.max > 0 && c.baseline != "" {
			target += "×"
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", c.what, value, baseline, ratio, target, met)
	}
	fmt.Printf("\n%d targets not met.\n\n## All results\n\n```\n", failed)
	names := make([]string, 0, len(res))
	for n := range res {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		var ms []string
		for unit, v := range res[n] {
			ms = append(ms, fmtNum(v)+" "+unit)
		}
		sort.Strings(ms)
		fmt.Printf("%-55s %s\n", n, strings.Join(ms, "  "))
	}
	fmt.Println("```")
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func fmtNum(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
