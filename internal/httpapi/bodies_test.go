package httpapi

import (
	"reflect"
	"testing"
)

// TestBodiesCarryEveryField fills every field of each request body and
// checks that the domain input it becomes has every field set, at every
// depth, and no field the body lacks: a field added to a billing input but
// forgotten here (or in input()) fails, rather than being silently dropped.
func TestBodiesCarryEveryField(t *testing.T) {
	tests := []struct {
		name    string
		body    any
		convert func(any) any
	}{
		{"invoice", &invoiceBody{}, func(b any) any { return b.(*invoiceBody).input() }},
		{"company", &companyBody{}, func(b any) any { return b.(*companyBody).input() }},
		{"email", &emailBody{}, func(b any) any { return b.(*emailBody).input("key") }},
		{"reminders", &remindersBody{}, func(b any) any { return b.(*remindersBody).input() }},
		{"reader", &readerBody{}, func(b any) any { return b.(*readerBody).input() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fill(reflect.ValueOf(tc.body).Elem())
			in := reflect.ValueOf(tc.convert(tc.body))
			if path, ok := allSet(in, tc.name); !ok {
				t.Errorf("%s is not set from the body", path)
			}
		})
	}
}

// fill sets every field of v to a value other than its zero value.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i))
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	default:
		panic("fill: no value for " + v.Type().String())
	}
}

// allSet reports the path of the first zero value in v, if any.
func allSet(v reflect.Value, path string) (string, bool) {
	if v.IsZero() {
		return path, false
	}
	switch v.Kind() {
	case reflect.Pointer:
		return allSet(v.Elem(), path)
	case reflect.Slice:
		return allSet(v.Index(0), path+"[0]")
	case reflect.Struct:
		for i := range v.NumField() {
			if !v.Type().Field(i).IsExported() {
				continue // what validation derives (a normalized address), not the body
			}
			if p, ok := allSet(v.Field(i), path+"."+v.Type().Field(i).Name); !ok {
				return p, false
			}
		}
	}
	return path, true
}
