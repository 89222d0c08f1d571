package flytypes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/go-openapi/strfmt"
)

// EventTime is a time in a Machine event, such as an exit event's
// exited_at. The API has sent it in two forms: RFC 3339 text (captured
// answers, fly-go's time.Time) and milliseconds since the epoch (Fly's
// Machines API guide). An EventTime holds the form it was read in and
// writes it back the same: the millisecond form is held as its digits and
// written as a number. Time gives the time whatever the form.
type EventTime string

// Time is the time t stands for; false when t is empty or in neither form.
func (t EventTime) Time() (time.Time, bool) {
	if t == "" {
		return time.Time{}, false
	}
	if ms, ok := t.millis(); ok {
		return time.UnixMilli(ms), true
	}
	v, err := time.Parse(time.RFC3339Nano, string(t))
	return v, err == nil
}

// millis reads the millisecond form.
func (t EventTime) millis() (int64, bool) {
	if t == "" || (t[0] < '0' || t[0] > '9') && t[0] != '-' {
		return 0, false
	}
	ms, err := strconv.ParseInt(string(t), 10, 64)
	return ms, err == nil
}

// MarshalJSON writes the millisecond form as a number, the rest as text.
func (t EventTime) MarshalJSON() ([]byte, error) {
	if _, ok := t.millis(); ok {
		return []byte(t), nil
	}
	return json.Marshal(string(t))
}

// UnmarshalJSON accepts a string or an integer. A string of digits is
// refused: it would come back out as a number.
func (t *EventTime) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case string(data) == "null":
		return nil
	case len(data) > 0 && data[0] != '"':
		if _, err := strconv.ParseInt(string(data), 10, 64); err != nil {
			return fmt.Errorf("event time: want RFC 3339 text or integer milliseconds, got %s", truncate(data))
		}
		*t = EventTime(data)
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("event time: want RFC 3339 text or integer milliseconds, got %s", truncate(data))
	}
	if _, ok := EventTime(s).millis(); ok {
		return fmt.Errorf("event time: the string %q would come back as a number", s)
	}
	*t = EventTime(s)
	return nil
}

// Validate accepts any form: an event time is what the API says it is.
func (t EventTime) Validate(strfmt.Registry) error { return nil }
