package glove

import (
	"math"
	"testing"
)

func TestHalfRoundTrip(t *testing.T) {
	for _, c := range []struct {
		in   float32
		want float32
	}{{0, 0}, {1, 1}, {-2.5, -2.5}, {65504, 65504}, {1e6, float32(math.Inf(1))}, {6e-8, 5.9604645e-08}, {1e-9, 0}, {0.1, 0.099975586}} {
		if got := fromHalf(toHalf(c.in)); got != c.want {
			t.Errorf("half(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	for h := 0; h < 0x7c00; h++ { // every finite positive half survives float32 and back
		if back := toHalf(fromHalf(uint16(h))); back != uint16(h) {
			t.Fatalf("half %#x → %v → %#x", h, fromHalf(uint16(h)), back)
		}
	}
}
