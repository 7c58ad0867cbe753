package app

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// A workstation's background work: what the GUI runs while it is open and
// `ward serve` runs headless until it is stopped. Each job is one entry in
// Jobs; the replica's sync node joins them as another.

// Event is news from a background job for a person: the GUI shows it,
// `ward serve` prints it. It never holds patient data.
type Event struct {
	At     time.Time
	Job    string
	Text   string
	Failed bool // something an administrator must look at
}

func (e Event) String() string {
	return fmt.Sprintf("%s %s: %s", e.At.UTC().Format(time.RFC3339), e.Job, e.Text)
}

// Job is one piece of background work; Run returns when ctx ends (nil), or
// early with an error when the job cannot go on.
type Job struct {
	Name string
	Run  func(ctx context.Context, events func(Event)) error
}

// Names of the jobs.
const (
	JobBackups   = "backups"
	JobEmergency = "emergency" // records the stop of expired emergency grants
)

// Jobs are this workstation's background jobs.
func (c *Clinic) Jobs() []Job {
	return []Job{{Name: JobBackups, Run: c.RunScheduled}, {Name: JobReplica, Run: c.RunSync},
		{Name: JobEmergency, Run: c.RunGrantExpiry}}
}

// Serve runs jobs side by side until ctx ends or one of them stops with an
// error; then it stops the others, waits for them, and returns that error.
// events (which may be nil) is called for one event at a time.
func Serve(ctx context.Context, jobs []Job, events func(Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	report := func(e Event) {
		if events != nil {
			mu.Lock()
			defer mu.Unlock()
			events(e)
		}
	}
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := j.Run(ctx, report); err != nil && ctx.Err() == nil {
				once.Do(func() { first = fmt.Errorf("background job %q stopped: %w", j.Name, err) })
				report(Event{At: time.Now(), Job: j.Name, Text: "stopped: " + err.Error(), Failed: true})
				cancel()
			}
		}()
	}
	wg.Wait()
	return first
}
