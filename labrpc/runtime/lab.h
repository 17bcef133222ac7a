// labrpc/runtime/lab.h
//
// Everything of the lab runtime in one include: tasks, time and randomness
// (runtime.h), Mutex (mutex.h), CondVar (cond_var.h), Chan (chan.h),
// TaskGroup (task_group.h), World (world.h) and LAB_LOG (log.h).

#ifndef LABRPC_RUNTIME_LAB_H_
#define LABRPC_RUNTIME_LAB_H_

#include "labrpc/runtime/chan.h"
#include "labrpc/runtime/cond_var.h"
#include "labrpc/runtime/log.h"
#include "labrpc/runtime/mutex.h"
#include "labrpc/runtime/runtime.h"
#include "labrpc/runtime/task_group.h"
#include "labrpc/runtime/world.h"

#endif  // LABRPC_RUNTIME_LAB_H_
