// Package shellwords splits a command line the way a POSIX shell splits
// words, without running anything: the --cmd flag of the command-line tool
// reads "sh -c 'exit 3'" as the three arguments sh, -c and exit 3. (The
// examples, which users copy, take the command as their arguments
// instead: the user's shell splits it.)
package shellwords

import (
	"errors"
	"strings"
)

// ErrUnterminated reports a quote that is never closed.
var ErrUnterminated = errors.New("shellwords: unterminated quote")

// Split cuts s into words at unquoted blanks. Single quotes keep
// everything up to the next single quote as is; double quotes keep
// everything but a backslash before one of $ ` " \ or a newline, which
// escapes that character; outside quotes a backslash escapes any
// character. Nothing is expanded: $HOME stays $HOME. An empty or blank s
// gives no words.
func Split(s string) ([]string, error) {
	var (
		words   []string
		cur     strings.Builder
		inWord  bool // cur holds a word, possibly empty ("")
		escaped bool
		quote   rune // 0, '\'' or '"'
	)
	for _, r := range s {
		switch {
		case escaped:
			if quote == '"' && !strings.ContainsRune("$`\"\\\n", r) {
				cur.WriteRune('\\')
			}
			if r != '\n' { // a backslash-newline joins lines
				cur.WriteRune(r)
			}
			escaped = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote == '"':
			if r == '"' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || escaped {
		return nil, ErrUnterminated
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// Join quotes words so that Split gives them back, quoting only the words
// that need it: for printing a command the way a user would type it.
func Join(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = quote(w)
	}
	return strings.Join(quoted, " ")
}

func quote(w string) string {
	if w == "" {
		return "''"
	}
	if !strings.ContainsAny(w, " \t\r\n'\"\\$`;&|<>()*?[]#~!{}") {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}
