/* Test harness only: the one macOS SDK header ring's C code includes, for a
 * `cargo check` of the macOS build on Linux (tests/macos/check). It says
 * "macOS on a Mac", what the real header says there. */
#ifndef DCK_TARGET_CONDITIONALS_STUB
#define DCK_TARGET_CONDITIONALS_STUB
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
#define TARGET_OS_IOS 0
#define TARGET_OS_WATCH 0
#define TARGET_OS_TV 0
#define TARGET_OS_SIMULATOR 0
#endif
