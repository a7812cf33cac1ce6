/* explore.h: `heapfuzz explore`, systematic schedules of a program (explore.c). */
#ifndef HF_EXPLORE_H
#define HF_EXPLORE_H

/* argv: the arguments after `explore`. Returns the exit status (see explore.c's usage). */
int hf_cmd_explore(int argc, char **argv);

#endif /* HF_EXPLORE_H */
