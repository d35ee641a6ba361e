# The native backend: one Node-API addon. Each instruction set is a static library of the
# same kernel sources compiled with its own flags; the addon picks one at run time
# (__builtin_cpu_supports), so nothing here depends on the build machine's CPU.
{
  'target_defaults': {
    'cflags_cc': ['-O3', '-std=gnu++20', '-fno-math-errno', '-ffp-contract=fast', '-fvisibility=hidden', '-fPIC'],
    'cflags_cc!': ['-O2', '-fno-exceptions'],
    'cflags!': ['-O2'],
    'xcode_settings': {'OTHER_CPLUSPLUSFLAGS': ['-O3', '-std=gnu++20', '-fno-math-errno', '-ffp-contract=fast']},
  },
  'targets': [
    {
      'target_name': 'yk_generic',
      'type': 'static_library',
      'sources': ['src/isa_generic.cc'],
    },
    {
      'target_name': 'yorick_native',
      'sources': ['src/addon.cc', 'src/pool.cc'],
      'dependencies': ['yk_generic'],
      'libraries': ['-pthread'],
      'cflags_cc': ['-pthread'],
      'conditions': [
        ['target_arch=="x64"', {'dependencies': ['yk_avx2', 'yk_avx512']}],
        ['target_arch=="arm64"', {'dependencies': ['yk_neon']}],
      ],
    },
  ],
  'conditions': [
    ['target_arch=="x64"', {
      'targets': [
        {
          'target_name': 'yk_avx2',
          'type': 'static_library',
          'sources': ['src/isa_avx2.cc'],
          'cflags_cc': ['-mavx2', '-mfma'],
          'xcode_settings': {'OTHER_CPLUSPLUSFLAGS': ['-mavx2', '-mfma']},
        },
        {
          'target_name': 'yk_avx512',
          'type': 'static_library',
          'sources': ['src/isa_avx512.cc'],
          'cflags_cc': ['-mavx512f', '-mavx2', '-mfma', '-Wno-maybe-uninitialized'],
          'xcode_settings': {'OTHER_CPLUSPLUSFLAGS': ['-mavx512f', '-mavx2', '-mfma']},
        },
      ],
    }],
    ['target_arch=="arm64"', {
      'targets': [
        {
          'target_name': 'yk_neon',
          'type': 'static_library',
          'sources': ['src/isa_neon.cc'],
        },
      ],
    }],
  ],
}
