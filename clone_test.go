package cns

import (
	"reflect"
	"testing"
	"time"
)

// fill sets every field reachable from v to a non-zero value: one element in each slice, one entry in each
// map. A field added to SNO later is filled too, so TestSNOCloneIsDeep covers it without changes.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(1)
	case reflect.Float64, reflect.Float32:
		v.SetFloat(0.5)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem())
		v.Set(p)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(1, 2).UTC()))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	}
}

// shares reports a path at which a and b share memory (the same slice array, map or pointer).
func shares(a, b reflect.Value, path string) string {
	switch a.Kind() {
	case reflect.Slice:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			return path
		}
		for i := range a.Len() {
			if p := shares(a.Index(i), b.Index(i), path+"[]"); p != "" {
				return p
			}
		}
	case reflect.Map:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			return path
		}
	case reflect.Pointer:
		if !a.IsNil() && a.Pointer() == b.Pointer() {
			return path
		}
		if !a.IsNil() {
			return shares(a.Elem(), b.Elem(), path)
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				if p := shares(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); p != "" {
					return p
				}
			}
		}
	}
	return ""
}

func TestSNOCloneIsDeep(t *testing.T) {
	var s SNO
	fill(reflect.ValueOf(&s).Elem())
	c := s.Clone()
	if !reflect.DeepEqual(&s, c) {
		t.Fatalf("clone differs:\n%+v\n%+v", c, s)
	}
	if p := shares(reflect.ValueOf(s), reflect.ValueOf(*c), "SNO"); p != "" {
		t.Fatalf("clone shares %s with the original", p)
	}
	// nil and empty stay what they were.
	e := &SNO{Evidence: []Evidence{}, Metadata: map[string]string{}}
	ce := e.Clone()
	if ce.Evidence == nil || ce.Metadata == nil || ce.Critics != nil || ce.Embedding != nil {
		t.Fatalf("clone of empty and nil fields: %+v", ce)
	}
	if (*SNO)(nil).Clone() != nil {
		t.Fatal("clone of nil")
	}
}

func TestSNOSummary(t *testing.T) {
	var s SNO
	fill(reflect.ValueOf(&s).Elem())
	sum := s.Summary()
	if sum.Embedding != nil || len(sum.Graph.Claims)+len(sum.Graph.Edges) != 0 || sum.Evidence != nil {
		t.Fatalf("summary keeps the heavy parts: %+v", sum)
	}
	want := s.Clone()
	want.Embedding, want.Graph, want.Evidence = nil, Graph{}, nil
	if !reflect.DeepEqual(want, sum) {
		t.Fatalf("summary differs beyond the heavy parts:\n%+v\n%+v", sum, want)
	}
	light := s // the original's other fields, memory and all
	light.Embedding, light.Graph, light.Evidence = nil, Graph{}, nil
	if p := shares(reflect.ValueOf(light), reflect.ValueOf(*sum), "SNO"); p != "" {
		t.Fatalf("summary shares %s with the original", p)
	}
	if (*SNO)(nil).Summary() != nil {
		t.Fatal("summary of nil")
	}
}
