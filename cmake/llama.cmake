# Imports the cached static llama.cpp build as one interface target: ebb_llama.
set(_src "${EBB_LLAMA_DIR}/src")
set(_bld "${_llama_build}")
add_library(ebb_llama INTERFACE)
target_include_directories(ebb_llama SYSTEM INTERFACE
  "${_src}/include" "${_src}/src" "${_src}/ggml/include")
# llama-common's headers pull in its vendored nlohmann-json (a newer ABI than Debian's). Only the
# source files listed here see them; everything else uses Debian's nlohmann-json.
set(EBB_LLAMA_COMMON_INCLUDES "${_src}/common" "${_src}/vendor")
set(_libs
  "${_bld}/common/libllama-common.a"
  "${_bld}/common/libllama-common-base.a"
  "${_bld}/src/libllama.a"
  "${_bld}/ggml/src/libggml.a")
file(GLOB _backends "${_bld}/ggml/src/*/libggml-*.a" "${_bld}/ggml/src/libggml-cpu.a")
list(APPEND _libs ${_backends} "${_bld}/ggml/src/libggml-base.a")
find_package(OpenMP)
target_link_libraries(ebb_llama INTERFACE -Wl,--start-group ${_libs} -Wl,--end-group Threads::Threads ${CMAKE_DL_LIBS})
if(OpenMP_CXX_FOUND)
  target_link_libraries(ebb_llama INTERFACE OpenMP::OpenMP_CXX)
endif()
if(EBB_CUDA)
  find_package(CUDAToolkit REQUIRED)
  target_link_libraries(ebb_llama INTERFACE CUDA::cudart CUDA::cublas CUDA::cublasLt CUDA::cuda_driver)
  # ggml-cuda uses NCCL (multi-GPU all-reduce) when its build found it; then so must we.
  file(STRINGS "${_bld}/CMakeCache.txt" _nccl REGEX "^NCCL_LIBRARY:FILEPATH=")
  string(REPLACE "NCCL_LIBRARY:FILEPATH=" "" _nccl "${_nccl}")
  if(_nccl AND EXISTS "${_nccl}")
    target_link_libraries(ebb_llama INTERFACE "${_nccl}")
  endif()
endif()
