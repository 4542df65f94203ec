# find_package(strata): the C plugin ABI as the target strata::plugin (its include directory;
# header only). A plugin: add_library(myplugin MODULE myplugin.c)
#                         target_link_libraries(myplugin PRIVATE strata::plugin)
include("${CMAKE_CURRENT_LIST_DIR}/strataTargets.cmake")
