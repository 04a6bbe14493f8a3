package storetest

import (
	"fmt"
	"math"
	"reflect"
	"time"
)

var timeType = reflect.TypeFor[time.Time]()

// diff compares want and got field by field and describes the first difference, or returns "". It is
// reflect.DeepEqual with the two relaxations a store may legitimately need: times are compared with
// Equal (a store may return another Location or drop the monotonic reading, but not lose nanoseconds),
// and a nil slice or map equals an empty one.
func diff(want, got any) string {
	return diffValue("", reflect.ValueOf(want), reflect.ValueOf(got))
}

func diffValue(path string, w, g reflect.Value) string {
	if !w.IsValid() || !g.IsValid() {
		if w.IsValid() != g.IsValid() {
			return fmt.Sprintf("%s: want %v, got %v", path, w, g)
		}
		return ""
	}
	if w.Type() != g.Type() {
		return fmt.Sprintf("%s: want type %s, got %s", path, w.Type(), g.Type())
	}
	if w.Type() == timeType {
		wt, gt := w.Interface().(time.Time), g.Interface().(time.Time)
		if !wt.Equal(gt) {
			return fmt.Sprintf("%s: want %s, got %s", path, wt.Format(time.RFC3339Nano), gt.Format(time.RFC3339Nano))
		}
		return ""
	}
	switch w.Kind() {
	case reflect.Pointer, reflect.Interface:
		if w.IsNil() || g.IsNil() {
			if w.IsNil() != g.IsNil() {
				return fmt.Sprintf("%s: want %v, got %v", path, w, g)
			}
			return ""
		}
		return diffValue(path, w.Elem(), g.Elem())
	case reflect.Struct:
		for i := range w.NumField() {
			f := w.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			if d := diffValue(path+"."+f.Name, w.Field(i), g.Field(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice, reflect.Array:
		if w.Len() != g.Len() {
			return fmt.Sprintf("%s: want %d elements %v, got %d %v", path, w.Len(), w, g.Len(), g)
		}
		for i := range w.Len() {
			if d := diffValue(fmt.Sprintf("%s[%d]", path, i), w.Index(i), g.Index(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Map:
		if w.Len() != g.Len() {
			return fmt.Sprintf("%s: want %d entries %v, got %d %v", path, w.Len(), w, g.Len(), g)
		}
		for _, k := range w.MapKeys() {
			gv := g.MapIndex(k)
			p := fmt.Sprintf("%s[%v]", path, k)
			if !gv.IsValid() {
				return fmt.Sprintf("%s: missing", p)
			}
			if d := diffValue(p, w.MapIndex(k), gv); d != "" {
				return d
			}
		}
		return ""
	case reflect.Float32, reflect.Float64:
		wf, gf := w.Float(), g.Float()
		if wf != gf && !(math.IsNaN(wf) && math.IsNaN(gf)) {
			return fmt.Sprintf("%s: want %v, got %v", path, wf, gf)
		}
		return ""
	default:
		if !w.Equal(g) {
			return fmt.Sprintf("%s: want %#v, got %#v", path, w, g)
		}
		return ""
	}
}
