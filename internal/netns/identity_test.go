package netns

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// cgroupV1 is a cgroup v1 /proc/PID/cgroup of a cgroupfs-driver container.
func cgroupV1(path string) []string {
	var lines []string
	for i, c := range []string{"perf_event", "net_cls,net_prio", "pids", "cpu,cpuacct", "memory", "devices", "freezer", "blkio", "cpuset", "hugetlb", "rdma"} {
		lines = append(lines, strings.Join([]string{strconv.Itoa(12 - i), c, path}, ":"))
	}
	return append(lines, "1:name=systemd:"+path, "0::/")
}

func TestParseCgroup(t *testing.T) {
	podPath := "/kubepods/burstable/pod" + uidDash + "/" + ctrA
	for _, tc := range []struct {
		name  string
		lines []string
		want  Identity
	}{
		{"no lines", nil, Identity{}},
		{"host process", []string{"0::/system.slice/sshd.service"}, Identity{}},
		{"cgroup v1, every controller", cgroupV1(podPath), Identity{PodUID: uidDash, ContainerID: ctrA}},
		{"cgroup v2 with a trailing empty line", []string{"0::/kubepods.slice/kubepods-pod" + uidUnder + ".slice/crio-conmon-" + ctrB + ".scope", ""},
			Identity{PodUID: uidDash, ContainerID: ctrB, Runtime: RuntimeCRIOConmon}},
		{"a line without a container is ignored", []string{"1:name=systemd:/user.slice", "0::" + podPath}, Identity{PodUID: uidDash, ContainerID: ctrA}},
		{"the same container twice", []string{"2:cpu:" + podPath, "1:memory:/kubepods/pod" + uidUnder + "/" + ctrA}, Identity{PodUID: uidDash, ContainerID: ctrA}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCgroup(tc.lines)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseCgroupErrors(t *testing.T) {
	other := "11111111-b29f-11e7-9350-020968147796"
	for _, tc := range []struct {
		name  string
		lines []string
		msg   string
	}{
		{"two containers", []string{
			"2:cpu:/kubepods/pod" + uidDash + "/" + ctrA,
			"1:memory:/kubepods/besteffort/pod" + uidDash + "/" + ctrB,
		}, "multiple container IDs in cgroups (" + ctrA + ", " + ctrB + ")"},
		{"one container, two pods", []string{
			"2:cpu:/kubepods/pod" + uidDash + "/" + ctrA,
			"1:memory:/kubepods/pod" + other + "/" + ctrA,
		}, `multiple pod UIDs in cgroups ("` + uidDash + `", "` + other + `")`},
		{"malformed line", []string{"0::/", "garbage"}, `cgroup line 2: cgroup line "garbage": want hierarchy-ID:controller-list:path`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := ParseCgroup(tc.lines)
			if err == nil || err.Error() != tc.msg {
				t.Fatalf("got %+v, error %v; want error %q", id, err, tc.msg)
			}
			if id != (Identity{}) {
				t.Errorf("identity %+v with an error", id)
			}
		})
	}
	_, err := ParseCgroup([]string{"1:a:/kubepods/pod" + uidDash + "/" + ctrA, "2:b:/kubepods/pod" + uidDash + "/" + ctrB})
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.First.ContainerID != ctrA || ce.Second.ContainerID != ctrB || ce.First.PodUID != uidDash {
		t.Errorf("want a *ConflictError naming both containers, got %#v", err)
	}
}
