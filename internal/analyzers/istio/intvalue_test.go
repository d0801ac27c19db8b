package istio

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestIntValueLikeIntOrString: intValue answers as IntOrString.IntValue.
func TestIntValueLikeIntOrString(t *testing.T) {
	for _, v := range []intstr.IntOrString{intstr.FromInt32(8080), intstr.FromInt32(0), intstr.FromString("http"), intstr.FromString("8080"),
		intstr.FromString("+7"), intstr.FromString("-1"), intstr.FromString(""), intstr.FromString("99999999999999999999"), intstr.FromString("80a")} {
		if got, want := intValue(v), v.IntValue(); got != want {
			t.Errorf("%#v: %d, IntValue %d", v, got, want)
		}
	}
}
