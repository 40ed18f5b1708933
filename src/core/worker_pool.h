#pragma once
// A fixed set of threads running submitted tasks from a bounded queue. The HTTP server hands
// every request to it, so a slow store call blocks a worker, never the accept/read loop; when the
// queue is full, try_submit refuses and the server answers 503 instead of queueing without bound.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cellfleet {

class WorkerPool {
 public:
  WorkerPool(std::size_t threads, std::size_t max_queue);
  ~WorkerPool();  // runs what is queued, then joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues task; false (and task dropped) when max_queue tasks are already waiting.
  bool try_submit(std::function<void()> task);
  std::size_t queued() const;
  // Stops taking tasks, finishes the queued ones, joins the threads. Idempotent.
  void shutdown();

 private:
  void run();

  std::size_t max_queue_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cellfleet
