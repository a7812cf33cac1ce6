/* signature_frames.h: the stack frames of crash reports, for signature.c (internal to the
 * `signature` command; signature.h is the contract). signature_frames.c reads one frame line in
 * each format the campaign meets and says which frames a signature skips; it also holds the
 * small string helpers both files use. */
#ifndef HF_SIGNATURE_FRAMES_H
#define HF_SIGNATURE_FRAMES_H

#include "signature.h"

#define HF_SIG_LINE_MAX 4096u /* a line longer than this is matched on its first part */

typedef struct hf_frame {
  char func[HF_SIG_TEXT];   /* "" when the report does not name it (`<null>`, `??`) */
  char file[HF_SIG_TEXT];   /* without :LINE[:COL]; "" when not given */
  char module[HF_SIG_TEXT]; /* the binary or library, when given instead of (or with) a file */
} hf_frame_t;

/* Parses one stack frame line (`#N ...`, any leading blanks). False if it is not one. */
bool hf_frame_parse(const char *line, hf_frame_t *f);

/* The signature's first filter: the sanitizer runtimes, libFuzzer, libc and the loader. */
bool hf_frame_is_runtime(const hf_frame_t *f);

/* The second: the harness (files under ops/, backends/, targets/, tools/; LLVMFuzzer* without a
 * file). */
bool hf_frame_is_harness(const hf_frame_t *f);

/* ---- strings (signature_frames.c) ---------------------------------------------------------- */

/* Bounded copy of s[0, n) into dst[cap]; cuts at cap-1 bytes. */
void hf_sig_copy(char *dst, size_t cap, const char *s, size_t n);
bool hf_sig_starts_with(const char *s, const char *prefix);
void hf_sig_trim_right(char *s);
/* The length of the first space-delimited token of s. */
size_t hf_sig_token_len(const char *s);
/* Whether s equals (or, with prefix, starts with) one of list[0, n). */
bool hf_sig_in_list(const char *s, const char *const *list, size_t n, bool prefix);
#define HF_IN_LIST(s, list, prefix) \
  hf_sig_in_list((s), (list), sizeof(list) / sizeof(list)[0], (prefix))

#endif /* HF_SIGNATURE_FRAMES_H */
