// The seed's design, as the baseline of `cargo xtask bench`: a Go module that
// registers its functions on the worker's global object with syscall/js and
// announces itself with a `goReady` message (see bridge.js and worker.js).
// The kernels are the seed's code: float64 iterative Fibonacci, the blocked
// matrix product on [][]float64 with one goroutine per block, the grayscale
// loop, and trial-division factorisation.
//
// Build: GOOS=js GOARCH=wasm go build -o main.wasm .
package main

import (
	"encoding/binary"
	"math"
	"strconv"
	"sync"
	"syscall/js"
)

// add is the seed's calculator `Add`.
func add(this js.Value, args []js.Value) interface{} {
	if len(args) != 2 {
		return "参数错误：需要两个数字"
	}
	return args[0].Float() + args[1].Float()
}

// fibonacci is the seed's iterative Fibonacci on float64: exact only up to F(78).
func fibonacci(this js.Value, args []js.Value) interface{} {
	n := args[0].Int()
	if n <= 1 {
		return float64(n)
	}
	a, b := 0.0, 1.0
	for i := 0; i < n; i++ {
		a, b = b, a+b
	}
	return a
}

// bytesToMatrix reads rows×cols little-endian float64s. The seed converted a
// JS array of arrays element by element (convertJSArrayToMatrix); copying the
// bytes in one go is far faster, so this only flatters the baseline.
func bytesToMatrix(buf []byte, rows, cols int) [][]float64 {
	m := make([][]float64, rows)
	for i := range m {
		m[i] = make([]float64, cols)
		for j := range m[i] {
			off := (i*cols + j) * 8
			m[i][j] = math.Float64frombits(binary.LittleEndian.Uint64(buf[off : off+8]))
		}
	}
	return m
}

func jsBytes(v js.Value) []byte {
	buf := make([]byte, v.Get("byteLength").Int())
	js.CopyBytesToGo(buf, v)
	return buf
}

func toJS(buf []byte) js.Value {
	out := js.Global().Get("Uint8Array").New(len(buf))
	js.CopyBytesToJS(out, buf)
	return out
}

// multiplyMatrix is the seed's blocked product: 32×32 blocks, one goroutine each.
func multiplyMatrix(a, b [][]float64) [][]float64 {
	rowsA := len(a)
	colsA := len(a[0])
	colsB := len(b[0])

	result := make([][]float64, rowsA)
	for i := range result {
		result[i] = make([]float64, colsB)
	}

	blockSize := 32
	var wg sync.WaitGroup

	for i := 0; i < rowsA; i += blockSize {
		for j := 0; j < colsB; j += blockSize {
			wg.Add(1)
			go func(startI, startJ int) {
				defer wg.Done()

				endI := min(startI+blockSize, rowsA)
				endJ := min(startJ+blockSize, colsB)

				for k := 0; k < colsA; k += blockSize {
					endK := min(k+blockSize, colsA)

					for ii := startI; ii < endI; ii++ {
						for jj := startJ; jj < endJ; jj++ {
							for kk := k; kk < endK; kk++ {
								result[ii][jj] += a[ii][kk] * b[kk][jj]
							}
						}
					}
				}
			}(i, j)
		}
	}

	wg.Wait()
	return result
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// matrixMultiply(aBytes, bBytes, m, k, n): the bytes of row-major float64
// matrices (Uint8Array views); returns the m×n product's bytes.
func matrixMultiply(this js.Value, args []js.Value) interface{} {
	m, k, n := args[2].Int(), args[3].Int(), args[4].Int()
	a := bytesToMatrix(jsBytes(args[0]), m, k)
	b := bytesToMatrix(jsBytes(args[1]), k, n)
	c := multiplyMatrix(a, b)
	out := make([]byte, m*n*8)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			binary.LittleEndian.PutUint64(out[(i*n+j)*8:], math.Float64bits(c[i][j]))
		}
	}
	return toJS(out)
}

// applyGrayscaleFilter is the seed's loop.
func applyGrayscaleFilter(pixels []uint8) []uint8 {
	result := make([]uint8, len(pixels))
	for i := 0; i < len(pixels); i += 4 {
		gray := uint8(0.299*float64(pixels[i]) + 0.587*float64(pixels[i+1]) + 0.114*float64(pixels[i+2]))
		result[i] = gray
		result[i+1] = gray
		result[i+2] = gray
		result[i+3] = pixels[i+3]
	}
	return result
}

// grayscale(pixels Uint8Array) → Uint8Array.
func grayscale(this js.Value, args []js.Value) interface{} {
	return toJS(applyGrayscaleFilter(jsBytes(args[0])))
}

// primeFactorization is the seed's trial division.
func primeFactorization(n int64) []int64 {
	factors := make([]int64, 0)
	for n%2 == 0 {
		factors = append(factors, 2)
		n = n / 2
	}
	for i := int64(3); i*i <= n; i += 2 {
		for n%i == 0 {
			factors = append(factors, i)
			n = n / i
		}
	}
	if n > 2 {
		factors = append(factors, n)
	}
	return factors
}

// factorize(decimal string) → array of decimal strings.
func factorize(this js.Value, args []js.Value) interface{} {
	n, err := strconv.ParseInt(args[0].String(), 10, 64)
	if err != nil {
		return err.Error()
	}
	out := []interface{}{}
	for _, f := range primeFactorization(n) {
		out = append(out, strconv.FormatInt(f, 10))
	}
	return out
}

func main() {
	functions := map[string]func(js.Value, []js.Value) interface{}{
		"add":            add,
		"fibonacci":      fibonacci,
		"matrixMultiply": matrixMultiply,
		"grayscale":      grayscale,
		"factorize":      factorize,
	}
	names := []interface{}{}
	for name, f := range functions {
		js.Global().Set(name, js.FuncOf(f))
		names = append(names, name)
	}
	js.Global().Call("postMessage", map[string]interface{}{"cmd": "goReady", "functions": names})
	select {}
}
