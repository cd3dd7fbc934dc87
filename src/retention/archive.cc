#include "retention/archive.h"

#include <filesystem>

#include "io/file.h"
#include "kappa/log/format.h"
#include "log/segment_name.h"
#include "log/segment_swap.h"

namespace kappa {

Status archive_segment(const std::string& dir, const std::string& archive_dir, int64_t base) {
  KAPPA_RETURN_IF_ERROR(make_dirs(archive_dir));
  std::error_code ec;
  if (std::filesystem::equivalent(dir, archive_dir, ec))
    return Status::Invalid("archive.dir resolves to the partition directory " + dir +
                           " itself; set it to a directory outside the data dir");
  // The .log goes last: once it is in place the archived segment is whole.
  for (const char* suffix : {format::kIndexSuffix, format::kTimeIndexSuffix, format::kLogSuffix}) {
    std::string from = segment_path(dir, base, suffix);
    std::string to = segment_path(archive_dir, base, suffix);
    if (!path_exists(from)) continue;  // an index not rebuilt yet: readers cope
    Status st = copy_file_synced(from, to + format::kArchivingSuffix);
    if (st.ok()) st = rename_file(to + format::kArchivingSuffix, to);
    if (!st.ok()) {
      // A full archive disk keeps no half copy: the segment stays live.
      (void)remove_file(to + format::kArchivingSuffix);
      for (const char* s : {format::kIndexSuffix, format::kTimeIndexSuffix})
        (void)remove_file(segment_path(archive_dir, base, s));
      return st;
    }
  }
  KAPPA_RETURN_IF_ERROR(sync_dir(archive_dir));
  KAPPA_RETURN_IF_ERROR(remove_segment(dir, base));
  return sync_dir(dir);
}

Status clean_archive_leftovers(const std::string& archive_dir) {
  if (!path_exists(archive_dir)) return Status::OK();
  KAPPA_ASSIGN_OR_RETURN(auto names, list_dir(archive_dir));
  for (const auto& n : names)
    if (n.ends_with(format::kArchivingSuffix)) KAPPA_RETURN_IF_ERROR(remove_file(archive_dir + "/" + n));
  return Status::OK();
}

}  // namespace kappa
