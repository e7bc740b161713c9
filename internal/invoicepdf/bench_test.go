package invoicepdf

import "testing"

func BenchmarkRender(b *testing.B) {
	for _, s := range samples {
		if s.name != "fr-lines" && s.name != "fr-100-lines" {
			continue
		}
		d := s.doc()
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Render(d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
