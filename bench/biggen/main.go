// Command biggen writes a production-sized Go profile set for pprof-report's benchmarks:
// a heap/allocs profile recorded with MemProfileRate=1 over hundreds of thousands of
// distinct call stacks, a goroutine profile and its debug=1/debug=2 dumps with tens of
// thousands of goroutines, and a CPU profile over many stacks. Everything is written by the
// Go runtime (runtime/pprof), so the files have the shape and size of real ones.
//
// It is a benchmark input generator written for pprof-report, standard library only. Its
// output is large (tens of MB) and never committed: bench/large.sh writes it to bench/generated/.
package main

import (
	"flag"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

func main() {
	// Every allocation from here on is recorded, as with GODEBUG-free MemProfileRate=1 in a
	// service that wants exact heap profiles. It must be set before the allocations happen.
	runtime.MemProfileRate = 1

	var (
		outDir     = flag.String("out", "bench/generated", "output directory")
		prefix     = flag.String("prefix", "large-1000svc-20261127-120000", "set prefix: <host>-<N>svc-<YYYYMMDD-HHMMSS>")
		stacks     = flag.Int("heap-stacks", 800000, "distinct allocation call stacks in the heap profile")
		goroutines = flag.Int("goroutines", 50000, "goroutines in the goroutine profile and dumps")
		cpuSeconds = flag.Int("cpu-seconds", 30, "duration of the CPU profile (0: no CPU profile)")
	)
	flag.Parse()
	if err := run(*outDir, *prefix, *stacks, *goroutines, *cpuSeconds); err != nil {
		fmt.Fprintln(os.Stderr, "biggen:", err)
		os.Exit(1)
	}
}

func run(outDir, prefix string, stacks, goroutines, cpuSeconds int) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(outDir, prefix+"-")
	runtime.SetMutexProfileFraction(100)
	runtime.SetBlockProfileRate(100000)

	start := time.Now()
	allocate(stacks)
	// The heap profile shows the state as of the last completed GC.
	runtime.GC()
	runtime.GC()
	if err := write(base+"heap.prof", "heap", 0); err != nil {
		return err
	}
	if err := write(base+"allocs.prof", "allocs", 0); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "biggen: heap and allocs profiles (%d stacks) in %v\n", stacks, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	release := park(goroutines)
	if err := write(base+"goroutine.prof", "goroutine", 0); err != nil {
		return err
	}
	if err := write(base+"goroutines.txt", "goroutine", 1); err != nil {
		return err
	}
	if err := write(base+"goroutines-debug2.txt", "goroutine", 2); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "biggen: goroutine profile and dumps (%d goroutines) in %v\n", goroutines, time.Since(start).Round(time.Millisecond))

	if cpuSeconds > 0 {
		start = time.Now()
		if err := profileCPU(base+"cpu.prof", time.Duration(cpuSeconds)*time.Second); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "biggen: CPU profile in %v\n", time.Since(start).Round(time.Millisecond))
	}
	release()
	if err := write(base+"mutex.prof", "mutex", 0); err != nil {
		return err
	}
	return write(base+"block.prof", "block", 0)
}

func write(path, name string, debug int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, debug); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// mix spreads consecutive numbers over all bits, so that paths differ near the root as well
// as near the leaf, as the call stacks of a real service do.
func mix(n uint64) uint64 {
	n += 0x9e3779b97f4a7c15
	n = (n ^ (n >> 30)) * 0xbf58476d1ce4e5b9
	n = (n ^ (n >> 27)) * 0x94d049bb133111eb
	return n ^ (n >> 31)
}

var retained [][]byte

// allocate makes one allocation from each of `stacks` distinct call paths. Half of them stay
// reachable (in use); sizes vary, as the runtime keys its buckets by stack and size.
func allocate(stacks int) {
	retained = make([][]byte, 0, stacks/2+1)
	for n := 0; n < stacks; n++ {
		size := 16 << (n % 7)
		keep := n%2 == 0
		// The first levels are shared by many stacks (a server's dispatch); the rest vary.
		path := uint64(n%64) | mix(uint64(n))<<6
		walk(13, path, func() {
			b := make([]byte, size)
			if keep {
				retained = append(retained, b)
			}
		})
	}
}

// walk descends depth levels, choosing one of 32 functions at each level from the path's
// next five bits: each path is a distinct call stack.
//
//go:noinline
func walk(depth int, path uint64, leaf func()) {
	if depth == 0 {
		leaf()
		return
	}
	switch path & 31 {
	case 0:
		parseHeader(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 1:
		decodeFrame(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 2:
		routeRequest(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 3:
		lookupPeer(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 4:
		encryptPacket(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 5:
		handleConn(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 6:
		readConfig(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 7:
		flushQueue(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 8:
		(*Device)(nil).RoutineEncryption(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 9:
		(*Device)(nil).RoutineDecryption(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 10:
		(*Peer)(nil).SendBuffers(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 11:
		(*Conn)(nil).ReadBatch(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 12:
		(*Poller)(nil).Poll(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 13:
		(*Monitor)(nil).debounce(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 14:
		(*Server)(nil).ServeHTTP(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 15:
		(*Transport)(nil).RoundTrip(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 16:
		(*Endpoint)(nil).HandlePacket(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 17:
		(*Stack)(nil).Forward(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 18:
		(*Client)(nil).pollNetMap(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 19:
		(*Bus)(nil).Publish(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 20:
		(*Logger)(nil).Write(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 21:
		(*Cache)(nil).Get(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 22:
		(*Store)(nil).Put(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 23:
		(*Queue)(nil).Push(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 24:
		(*Table)(nil).Lookup(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 25:
		(*Ring)(nil).Next(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 26:
		(*Codec)(nil).Unmarshal(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 27:
		(*Codec)(nil).Marshal(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 28:
		(*Pool)(nil).Get(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 29:
		(*Pool)(nil).Put(depth-1, bits.RotateLeft64(path, -5), leaf)
	case 30:
		(*Tracker)(nil).Update(depth-1, bits.RotateLeft64(path, -5), leaf)
	default:
		(*Timer)(nil).Reset(depth-1, bits.RotateLeft64(path, -5), leaf)
	}
}

type Bus struct{}
type Cache struct{}
type Client struct{}
type Codec struct{}
type Conn struct{}
type Device struct{}
type Endpoint struct{}
type Logger struct{}
type Monitor struct{}
type Peer struct{}
type Poller struct{}
type Pool struct{}
type Queue struct{}
type Ring struct{}
type Server struct{}
type Stack struct{}
type Store struct{}
type Table struct{}
type Timer struct{}
type Tracker struct{}
type Transport struct{}

//go:noinline
func parseHeader(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func decodeFrame(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func routeRequest(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func lookupPeer(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func encryptPacket(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func handleConn(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func readConfig(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func flushQueue(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Device) RoutineEncryption(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Device) RoutineDecryption(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Peer) SendBuffers(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Conn) ReadBatch(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Poller) Poll(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Monitor) debounce(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Server) ServeHTTP(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Transport) RoundTrip(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Endpoint) HandlePacket(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Stack) Forward(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Client) pollNetMap(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Bus) Publish(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Logger) Write(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Cache) Get(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Store) Put(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Queue) Push(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Table) Lookup(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Ring) Next(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Codec) Unmarshal(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Codec) Marshal(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Pool) Get(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Pool) Put(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Tracker) Update(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Timer) Reset(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

// park starts n goroutines that descend a path of varying depth and then block in one of
// the ways a service's goroutines do (channel receive, select, mutex, condition, sleep), and
// returns a function that releases them all.
func park(n int) func() {
	done := make(chan struct{})
	var gate sync.Mutex
	gate.Lock()
	cond := sync.NewCond(new(sync.Mutex))
	var started sync.WaitGroup
	started.Add(n)
	for i := 0; i < n; i++ {
		kind := i % 5
		depth := 2 + i%9
		path := mix(uint64(i % 4096))
		go walk(depth, path, func() {
			started.Done()
			switch kind {
			case 0:
				<-done
			case 1:
				select {
				case <-done:
				case <-time.After(time.Hour):
				}
			case 2:
				gate.Lock()
				gate.Unlock()
			case 3:
				cond.L.Lock()
				for !isClosed(done) {
					cond.Wait()
				}
				cond.L.Unlock()
			default:
				for !isClosed(done) {
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	started.Wait()
	// Let the last ones reach their blocking call.
	time.Sleep(200 * time.Millisecond)
	return func() {
		close(done)
		gate.Unlock()
		cond.L.Lock()
		cond.Broadcast()
		cond.L.Unlock()
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

var sink uint64

// profileCPU burns CPU on every processor through varied call paths for d.
func profileCPU(path string, d time.Duration) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var local uint64
			for n := uint64(w); time.Now().Before(deadline); n += 64 {
				walk(4+int(n%8), mix(n%200000), func() {
					for i := uint64(0); i < 2000; i++ {
						local = local*6364136223846793005 + i
					}
				})
				if n%4096 == 0 {
					mu.Lock()
					sink += local
					mu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	pprof.StopCPUProfile()
	return f.Close()
}
