package flytest

// Capacity errors: Machines_create in a full region answers 412 with
// {"error": "insufficient resources ...", "status": "insufficient_capacity"},
// the status code and body the API uses when no host in a region has room.
// Clients should retry elsewhere or later. See WithCapacityError.

// SetRegionCapacity makes Machines_create in region fail for lack of
// capacity (ok false) or succeed again (ok true). Machines already in the
// region are not affected.
func (e *Emulator) SetRegionCapacity(region string, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ok {
		delete(e.noCapacity, region)
	} else {
		e.noCapacity[region] = true
	}
}
