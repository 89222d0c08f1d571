package shellwords

import (
	"errors"
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"echo hello", []string{"echo", "hello"}},
		{"  echo \t hello  ", []string{"echo", "hello"}},
		{`sh -c 'exit 3'`, []string{"sh", "-c", "exit 3"}},
		{`sh -c "echo \"hi\"; exit 2"`, []string{"sh", "-c", `echo "hi"; exit 2`}},
		{`echo "a\b"`, []string{"echo", `a\b`}},
		{`echo a\ b`, []string{"echo", "a b"}},
		{`echo '' ""`, []string{"echo", "", ""}},
		{`echo 'it'\''s'`, []string{"echo", "it's"}},
		{`echo $HOME`, []string{"echo", "$HOME"}},
		{"echo a\\\nb", []string{"echo", "ab"}},
		{`a"b c"d`, []string{"ab cd"}},
	} {
		got, err := Split(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestSplitUnterminated(t *testing.T) {
	for _, in := range []string{`sh -c 'exit 3`, `echo "hi`, `echo \`} {
		if _, err := Split(in); !errors.Is(err, ErrUnterminated) {
			t.Errorf("Split(%q): err = %v, want ErrUnterminated", in, err)
		}
	}
}

func TestJoinRoundTrips(t *testing.T) {
	for _, words := range [][]string{
		{"sh", "-c", "exit 3"},
		{"echo", "it's", "", `a"b`, `back\slash`, "$HOME"},
		{"plain", "words"},
	} {
		back, err := Split(Join(words))
		if err != nil || !slices.Equal(back, words) {
			t.Errorf("Split(Join(%q)) = %q, %v", words, back, err)
		}
	}
	if got := Join([]string{"sh", "-c", "exit 3"}); got != "sh -c 'exit 3'" {
		t.Errorf("Join = %s", got)
	}
}
