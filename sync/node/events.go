package node

import (
	"context"
	"strings"

	"github.com/syncthing/syncthing/lib/events"
	"github.com/syncthing/syncthing/lib/protocol"
)

// readEvents turns Syncthing's events into arrivals, connection state and
// listen addresses. It must keep up: Syncthing drops an event a subscriber
// has not taken within 15 ms, so it only records and signals.
//
// Which events: ItemFinished fires for each file the puller has renamed into
// place (the file is complete on disk), and reliably so. FolderCompletion is
// only produced by the folder-summary service, which runs with the web GUI
// (off here). As a safety net, a folder going from syncing back to idle also
// signals its folder (a merged "look again").
func (n *Node) readEvents() {
	defer n.pumps.Done()
	for ev := range n.sub.C() { // closed when the event logger stops
		switch ev.Type {
		case events.ItemFinished:
			d, _ := ev.Data.(map[string]interface{})
			folder, _ := d["folder"].(string)
			item, _ := d["item"].(string)
			typ, _ := d["type"].(string)
			action, _ := d["action"].(string)
			if e, ok := d["error"].(*string); ok && e != nil {
				continue
			}
			if typ == "file" && action == "update" && !strings.HasPrefix(item, ".") {
				n.arrived(folder, item)
			}
		case events.StateChanged:
			d, _ := ev.Data.(map[string]interface{})
			folder, _ := d["folder"].(string)
			if d["from"] == "syncing" && d["to"] == "idle" {
				n.arrived(folder, "")
			}
		case events.DeviceConnected:
			d, _ := ev.Data.(map[string]string)
			if id, err := protocol.DeviceIDFromString(d["id"]); err == nil {
				n.mu.Lock()
				n.conns[id] = d["addr"]
				n.mu.Unlock()
			}
		case events.DeviceDisconnected:
			d, _ := ev.Data.(map[string]string)
			if id, err := protocol.DeviceIDFromString(d["id"]); err == nil {
				n.mu.Lock()
				delete(n.conns, id)
				n.mu.Unlock()
			}
		case events.ListenAddressesChanged:
			// Sent once the listener is bound (with port 0 still in it:
			// hence concreteListen). It marks the node as listening.
			n.mu.Lock()
			select {
			case <-n.listenCh:
			default:
				close(n.listenCh)
			}
			n.mu.Unlock()
		}
	}
}

// arrived records that folder has news (file, or "" for "look again").
func (n *Node) arrived(folder, file string) {
	node, ok := strings.CutPrefix(folder, FolderPrefix)
	if !ok || node == n.cfg.NodeID {
		return
	}
	n.mu.Lock()
	a := n.pending[folder]
	if a == nil {
		a = &Arrival{Node: node, Folder: folder}
		n.pending[folder] = a
		n.order = append(n.order, folder)
	}
	if file != "" {
		a.Files = append(a.Files, file)
	}
	n.mu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// pumpArrivals hands pending arrivals to the reader of Arrivals, oldest
// folder first, merging what piles up while nobody reads.
func (n *Node) pumpArrivals(ctx context.Context) {
	defer n.pumps.Done()
	defer close(n.arrivals)
	for {
		n.mu.Lock()
		var next *Arrival
		if len(n.order) > 0 {
			next = n.pending[n.order[0]]
			delete(n.pending, n.order[0])
			n.order = n.order[1:]
		}
		n.mu.Unlock()
		if next == nil {
			select {
			case <-n.kick:
				continue
			case <-ctx.Done():
				return
			}
		}
		select {
		case n.arrivals <- *next:
		case <-ctx.Done():
			return
		}
	}
}
