/* Symbol export and C++ linkage macros shared by every public header. */
#ifndef WEIR_EXPORT_H
#define WEIR_EXPORT_H

/* The library is built with hidden visibility; only what carries WEIR_EXTERN
 * is part of the ABI. Static builds define WEIR_STATIC to drop the attribute
 * on platforms where it matters. */
#if defined(_WIN32)
#  if defined(WEIR_BUILDING)
#    define WEIR_EXTERN __declspec(dllexport)
#  elif defined(WEIR_STATIC)
#    define WEIR_EXTERN
#  else
#    define WEIR_EXTERN __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define WEIR_EXTERN __attribute__((visibility("default")))
#else
#  define WEIR_EXTERN
#endif

#ifdef __cplusplus
#  define WEIR_BEGIN_DECLS extern "C" {
#  define WEIR_END_DECLS }
#else
#  define WEIR_BEGIN_DECLS
#  define WEIR_END_DECLS
#endif

#endif /* WEIR_EXPORT_H */
