# Debian splits OpenCV into per-module -dev packages; OpenCVConfig.cmake only comes with the
# libopencv-dev meta package, which drags in GUI and video stacks we never use. Prefer the
# config when it is there; otherwise locate the three modules we link directly.
find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs)
add_library(weipian_opencv INTERFACE)
add_library(weipian::opencv ALIAS weipian_opencv)
if(OpenCV_FOUND)
  target_link_libraries(weipian_opencv INTERFACE opencv_core opencv_imgproc opencv_imgcodecs)
else()
  find_path(WEIPIAN_OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
  foreach(module core imgproc imgcodecs)
    find_library(WEIPIAN_OPENCV_${module} NAMES opencv_${module} REQUIRED)
    target_link_libraries(weipian_opencv INTERFACE ${WEIPIAN_OPENCV_${module}})
  endforeach()
  target_include_directories(weipian_opencv SYSTEM INTERFACE ${WEIPIAN_OPENCV_INCLUDE_DIR})
  message(STATUS "OpenCV modules: ${WEIPIAN_OPENCV_INCLUDE_DIR}")
endif()
