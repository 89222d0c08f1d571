package flytest

import (
	"encoding/base64"
	"net/http"
	"strconv"
)

// maxPage is the largest page a list answers, whatever limit asks for.
const maxPage = 1000

// pageParams reads limit and cursor. On a bad value it has answered 400 and
// returns ok=false. A zero limit means "everything up to maxPage".
func pageParams(w http.ResponseWriter, r *http.Request) (limit, offset int, ok bool) {
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			invalid(w, "limit must be a non-negative integer, got %q", s)
			return 0, 0, false
		}
		limit = n
	}
	if limit == 0 || limit > maxPage {
		limit = maxPage
	}
	if c := q.Get("cursor"); c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		n, err2 := strconv.Atoi(string(raw))
		if err != nil || err2 != nil || n < 0 {
			invalid(w, "cursor %q is not one this server issued", c)
			return 0, 0, false
		}
		offset = n
	}
	return limit, offset, true
}

// paginate cuts one page out of items (already in a stable order) and
// returns the cursor of the next page, or "" on the last one.
func paginate[T any](items []T, limit, offset int) ([]T, string) {
	if offset >= len(items) {
		return []T{}, ""
	}
	end := min(offset+limit, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return items[offset:end], next
}
