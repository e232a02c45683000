package main

import (
	"fmt"
	"sync"
)

func main() {
	ch := make(chan int, 16)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			s := 0
			for i := 0; i < 200000; i++ {
				s += i % (id + 1)
			}
			ch <- s
		}(w)
	}
	go func() { wg.Wait(); close(ch) }()
	total := 0
	for v := range ch {
		total += v
	}
	fmt.Println("goroutines total", total)
}
