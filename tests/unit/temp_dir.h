// A fresh directory under /tmp for one test case, removed with everything
// in it when the case ends.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

struct temp_dir {
  std::string root;
  explicit temp_dir(const std::string& prefix = "kappa-unit") {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    if (mkdtemp(tmpl.data())) root = tmpl;
  }
  ~temp_dir() {
    if (!root.empty()) std::filesystem::remove_all(root);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};
