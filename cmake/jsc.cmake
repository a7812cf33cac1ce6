# cmake/jsc.cmake: the JavaScriptCore backend (backends/jsc.c, issue 15). Optional: without JSC,
# one line says what to install, and everything else builds; the jsc backend, fuzz_jsc and the
# JSC tests are left out (the tests report themselves skipped).
#
# JSC comes from pkg-config (javascriptcoregtk-4.1: Debian's libjavascriptcoregtk-4.1-dev), or
# from another build of it, to fuzz a fork:
#   -DHF_JSC_LIBRARY=/path/to/libjavascriptcoregtk-4.1.so -DHF_JSC_INCLUDE_DIR=/path/to/include
# where the include directory holds JavaScriptCore/JavaScript.h. Either way the library must
# export the private entry points the backend declares itself (JSWeakCreate,
# JSSynchronousEdenCollectForDebugging, JSContextGroupAddHeapFinalizer, ...): checked by linking.
#
# Included from the top-level CMakeLists.txt after HEAPOPS_BACKEND_SOURCES is set. Defines:
#   hf_jsc              an interface library: JSC's headers and library, HF_HAVE_JSC=1 (every
#                       build of the interpreter links it, so ops/backends.c lists the backend)
#   HF_JSC_MISSING      why there is no JSC backend in this build ("" when there is one); a
#                       compile definition of the tests and the interpreter, so no `;` or `"`
# targets/CMakeLists.txt builds fuzz_jsc when hf_jsc exists.

set(HF_JSC_LIBRARY "" CACHE FILEPATH
  "A JavaScriptCore library to build the jsc backend on, instead of pkg-config's javascriptcoregtk-4.1")
set(HF_JSC_INCLUDE_DIR "" CACHE PATH
  "With HF_JSC_LIBRARY: the directory holding JavaScriptCore/JavaScript.h")
option(HF_JSC "Build the JavaScriptCore backend when JSC is found" ON)

set(HF_JSC_MISSING "")
set(_hf_jsc_package "libjavascriptcoregtk-4.1-dev")
if(NOT HF_JSC)
  set(HF_JSC_MISSING "the jsc backend is off (-DHF_JSC=OFF)")
elseif(HC_SANITIZE MATCHES "thread|memory")
  # JSC is not TSan-instrumented, and the backend hands calls to its worker thread through a raw
  # futex, which TSan does not see as synchronization; two JSC threads under TSan also hang in
  # WTF::Thread::suspend (issue 15). MSan would flag every value JSC's uninstrumented code
  # returns. No JSC in TSan or MSan builds.
  set(HF_JSC_MISSING "no jsc backend under ${HC_SANITIZE} (JSC is uninstrumented, see cmake/jsc.cmake)")
elseif(HF_JSC_LIBRARY)
  if(NOT EXISTS "${HF_JSC_INCLUDE_DIR}/JavaScriptCore/JavaScript.h")
    message(FATAL_ERROR "HF_JSC_LIBRARY needs HF_JSC_INCLUDE_DIR, the directory holding "
      "JavaScriptCore/JavaScript.h (now '${HF_JSC_INCLUDE_DIR}')")
  endif()
  set(_hf_jsc_includes "${HF_JSC_INCLUDE_DIR}")
  set(_hf_jsc_libraries "${HF_JSC_LIBRARY}")
  set(_hf_jsc_from "${HF_JSC_LIBRARY}")
else()
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(HF_JSC_PC QUIET javascriptcoregtk-4.1)
  endif()
  if(HF_JSC_PC_FOUND)
    set(_hf_jsc_includes ${HF_JSC_PC_INCLUDE_DIRS})
    set(_hf_jsc_libraries ${HF_JSC_PC_LINK_LIBRARIES})
    set(_hf_jsc_from "javascriptcoregtk-4.1 ${HF_JSC_PC_VERSION}")
  else()
    set(HF_JSC_MISSING "JavaScriptCore not found: apt-get install ${_hf_jsc_package} (or -DHF_JSC_LIBRARY=...)")
  endif()
endif()

# The private entry points are declared by backends/jsc.c, not by JSC's headers: a library
# without them would fail at link time, so check once here and say so.
if(NOT HF_JSC_MISSING)
  include(CheckCSourceCompiles)
  set(CMAKE_REQUIRED_INCLUDES ${_hf_jsc_includes})
  set(CMAKE_REQUIRED_LIBRARIES ${_hf_jsc_libraries})
  set(CMAKE_REQUIRED_QUIET ON)
  # Cached per library: pointing HF_JSC_LIBRARY elsewhere checks again.
  string(MD5 _hf_jsc_key "${_hf_jsc_includes};${_hf_jsc_libraries}")
  check_c_source_compiles([[
#include <JavaScriptCore/JavaScript.h>
void *JSWeakCreate(JSContextGroupRef, JSObjectRef);
void JSWeakRelease(JSContextGroupRef, void *);
void *JSWeakGetObject(void *);
void JSSynchronousGarbageCollectForDebugging(JSContextRef);
void JSSynchronousEdenCollectForDebugging(JSContextRef);
void JSContextGroupAddHeapFinalizer(JSContextGroupRef, void (*)(JSContextGroupRef, void *), void *);
void JSContextGroupRemoveHeapFinalizer(JSContextGroupRef, void (*)(JSContextGroupRef, void *), void *);
int main(void) {
  void *f[] = {(void *)JSWeakCreate, (void *)JSWeakRelease, (void *)JSWeakGetObject,
               (void *)JSSynchronousGarbageCollectForDebugging,
               (void *)JSSynchronousEdenCollectForDebugging,
               (void *)JSContextGroupAddHeapFinalizer, (void *)JSContextGroupRemoveHeapFinalizer,
               (void *)JSObjectMakeTypedArrayWithBytesNoCopy};
  return f[0] == 0;
}]] HF_JSC_LINKS_${_hf_jsc_key})
  unset(CMAKE_REQUIRED_INCLUDES)
  unset(CMAKE_REQUIRED_LIBRARIES)
  unset(CMAKE_REQUIRED_QUIET)
  if(NOT HF_JSC_LINKS_${_hf_jsc_key})
    set(HF_JSC_MISSING "JavaScriptCore (${_hf_jsc_from}) does not link with the entry points backends/jsc.c needs")
    unset(HF_JSC_LINKS_${_hf_jsc_key} CACHE) # look again at the next configure
  endif()
endif()

if(HF_JSC_MISSING)
  message(STATUS "heapfuzz: ${HF_JSC_MISSING}: no jsc backend, fuzz_jsc or JSC tests")
else()
  add_library(hf_jsc INTERFACE)
  # SYSTEM: JSC's headers are not ours to hold to -Werror.
  target_include_directories(hf_jsc SYSTEM INTERFACE ${_hf_jsc_includes})
  target_include_directories(hf_jsc INTERFACE ${PROJECT_SOURCE_DIR}/backends)
  target_link_libraries(hf_jsc INTERFACE ${_hf_jsc_libraries} Threads::Threads)
  target_compile_definitions(hf_jsc INTERFACE HF_HAVE_JSC=1)
  list(APPEND HEAPOPS_BACKEND_SOURCES ${PROJECT_SOURCE_DIR}/backends/jsc.c)
  message(STATUS "heapfuzz: jsc backend on ${_hf_jsc_from}")
endif()
