// Command stackgen writes one heap profile over a given number of distinct call stacks, 20 to
// 60 frames deep, for the growth table of bench/large.sh (issue 20: cost linear in frames,
// seen at 10k to 400k stacks). The Go runtime writes it (runtime/pprof, MemProfileRate=1),
// so the file has the shape of a real one.
//
// The stacks run through a small recursive call graph: a dispatcher and 16 functions, two
// frames a level, 20 to 60 frames from the allocation to runtime.main. Go 1.19's runtime
// records the 32 innermost frames of each (inlined frames count too), so the deeper ones are
// cut to 32 in the file, as in a service built with it; Go 1.23 and later record up to 128.
// bench/biggen's graph has the same kind, at a fixed depth, and stays as it is so that the
// large set it writes stays the same.
//
// Standard library only; its output is never committed: bench/large.sh writes it to
// bench/generated/, each profile alone in its own set folder.
package main

import (
	"flag"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"
)

func main() {
	// Every allocation from here on is recorded; it must be set before they happen.
	runtime.MemProfileRate = 1

	var (
		outDir = flag.String("out", "bench/generated", "output directory")
		prefix = flag.String("prefix", "stacks-1svc-20261202-120000", "set prefix: <host>-<N>svc-<YYYYMMDD-HHMMSS>")
		stacks = flag.Int("stacks", 10000, "distinct allocation call stacks")
		// Two frames a level, plus six: the leaf, the last walk, allocate, run, main and
		// runtime.main. 7 to 27 levels are 20 to 60 frames.
		least = flag.Int("min-levels", 7, "fewest levels of the call graph under an allocation")
		most  = flag.Int("max-levels", 27, "most levels")
	)
	flag.Parse()
	if *stacks < 1 || *least < 1 || *most < *least {
		fmt.Fprintln(os.Stderr, "stackgen: need -stacks >= 1 and 1 <= -min-levels <= -max-levels")
		os.Exit(2)
	}
	if err := run(*outDir, *prefix, *stacks, *least, *most); err != nil {
		fmt.Fprintln(os.Stderr, "stackgen:", err)
		os.Exit(1)
	}
}

func run(outDir, prefix string, stacks, least, most int) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	start := time.Now()
	allocate(stacks, least, most)
	// The heap profile shows the state as of the last completed GC.
	runtime.GC()
	runtime.GC()
	path := filepath.Join(outDir, prefix+"-heap.prof")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// The runtime keys its records by stack and size: their count shows whether paths
	// collided (fewer) or the runtime added its own (a few more).
	records, _ := runtime.MemProfile(nil, true)
	fmt.Fprintf(os.Stderr, "stackgen: %s: %d stacks asked, %d records, %d-%d levels, in %v\n",
		path, stacks, records, least, most, time.Since(start).Round(time.Millisecond))
	return nil
}

// mix spreads consecutive numbers over all bits, so that paths differ near the root as well
// as near the leaf, as the call stacks of a real service do.
func mix(n uint64) uint64 {
	n += 0x9e3779b97f4a7c15
	n = (n ^ (n >> 30)) * 0xbf58476d1ce4e5b9
	n = (n ^ (n >> 27)) * 0x94d049bb133111eb
	return n ^ (n >> 31)
}

var (
	retained [][]byte
	// dropped holds the last allocation not kept: through a global every allocation
	// escapes to the heap, whatever the compiler's stack allocation learns to do.
	dropped []byte
)

// allocate makes one allocation from each of `stacks` distinct call paths, each between
// least and most levels deep. Half stay reachable (in use); sizes vary, as the runtime keys
// its records by stack and size.
func allocate(stacks, least, most int) {
	retained = make([][]byte, 0, stacks/2+1)
	for n := 0; n < stacks; n++ {
		size := 16 << (n % 7)
		keep := n%2 == 0
		// The first levels are shared by many stacks (a server's dispatch); the rest vary.
		path := uint64(n%64) | mix(uint64(n))<<6
		// The depth comes from other bits than the path's, so the two vary independently.
		depth := least + int(mix(uint64(n)^0x5bd1e995)%uint64(most-least+1))
		walk(depth, path, func() {
			b := make([]byte, size)
			if keep {
				retained = append(retained, b)
			} else {
				dropped = b
			}
		})
	}
}

// The 16 functions of the graph, each a frame of its own (not inlined): a return address,
// and a location in the profile, per frame, as in a service's real stacks.

type Cache struct{}
type Codec struct{}
type Conn struct{}
type Logger struct{}
type Peer struct{}
type Pool struct{}
type Queue struct{}
type Server struct{}
type Store struct{}
type Table struct{}
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
func (*Server) ServeHTTP(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Transport) RoundTrip(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Conn) ReadBatch(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Peer) SendBuffers(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Codec) Unmarshal(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Codec) Marshal(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Cache) Get(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Store) Put(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Queue) Push(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Table) Lookup(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Pool) Get(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

//go:noinline
func (*Logger) Write(depth int, path uint64, leaf func()) { walk(depth, path, leaf) }

// walk descends depth levels, choosing one of 16 functions at each level from the path's
// next four bits: each path is a distinct call stack.
//
//go:noinline
func walk(depth int, path uint64, leaf func()) {
	if depth == 0 {
		leaf()
		return
	}
	next := bits.RotateLeft64(path, -4)
	switch path & 15 {
	case 0:
		parseHeader(depth-1, next, leaf)
	case 1:
		decodeFrame(depth-1, next, leaf)
	case 2:
		routeRequest(depth-1, next, leaf)
	case 3:
		lookupPeer(depth-1, next, leaf)
	case 4:
		(*Server)(nil).ServeHTTP(depth-1, next, leaf)
	case 5:
		(*Transport)(nil).RoundTrip(depth-1, next, leaf)
	case 6:
		(*Conn)(nil).ReadBatch(depth-1, next, leaf)
	case 7:
		(*Peer)(nil).SendBuffers(depth-1, next, leaf)
	case 8:
		(*Codec)(nil).Unmarshal(depth-1, next, leaf)
	case 9:
		(*Codec)(nil).Marshal(depth-1, next, leaf)
	case 10:
		(*Cache)(nil).Get(depth-1, next, leaf)
	case 11:
		(*Store)(nil).Put(depth-1, next, leaf)
	case 12:
		(*Queue)(nil).Push(depth-1, next, leaf)
	case 13:
		(*Table)(nil).Lookup(depth-1, next, leaf)
	case 14:
		(*Pool)(nil).Get(depth-1, next, leaf)
	default:
		(*Logger)(nil).Write(depth-1, next, leaf)
	}
}
