#include "log/segment_swap.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>

#include "io/file.h"
#include "kappa/log/format.h"
#include "log/segment.h"
#include "log/segment_name.h"

namespace kappa {

static std::string cleaned_path(const std::string& dir, int64_t base, const char* suffix) {
  return segment_path(dir, base, suffix) + format::kCleanedSuffix;
}

Status remove_segment(const std::string& dir, int64_t base) {
  KAPPA_RETURN_IF_ERROR(remove_file(segment_path(dir, base, format::kLogSuffix)));
  KAPPA_RETURN_IF_ERROR(remove_file(segment_path(dir, base, format::kIndexSuffix)));
  return remove_file(segment_path(dir, base, format::kTimeIndexSuffix));
}

static std::string manifest_path(const std::string& dir, int64_t base) {
  return dir + "/" + segment_stem(base) + format::kSwapManifestSuffix;
}

// Steps 4 and 5 of the swap: drop the replaced segments, put the indexes
// in, and drop the manifest.
static Status complete_swap(const std::string& dir, int64_t base, const std::vector<int64_t>& replaced) {
  for (int64_t b : replaced) KAPPA_RETURN_IF_ERROR(remove_segment(dir, b));
  for (const char* suffix : {format::kIndexSuffix, format::kTimeIndexSuffix}) {
    std::string from = cleaned_path(dir, base, suffix);
    if (path_exists(from)) KAPPA_RETURN_IF_ERROR(rename_file(from, segment_path(dir, base, suffix)));
  }
  KAPPA_RETURN_IF_ERROR(sync_dir(dir));
  KAPPA_RETURN_IF_ERROR(remove_file(manifest_path(dir, base)));
  return sync_dir(dir);
}

Status swap_in_cleaned(const std::string& dir, const std::vector<int64_t>& group) {
  int64_t base = group.front();
  // The manifest names the segments the swap replaces, for a recovery that
  // has to finish it (the cleaned segment alone cannot say where the group
  // ended: its last records may all have been dropped).
  std::string manifest;
  for (size_t i = 1; i < group.size(); i++) manifest += std::to_string(group[i]) + "\n";
  Status st = rewrite_file(manifest_path(dir, base), manifest, true);
  if (st.ok()) st = sync_dir(dir);  // the .cleaned files and the manifest exist before anything goes
  // Old indexes must not describe the new .log, not even for a moment.
  if (st.ok()) st = remove_file(segment_path(dir, base, format::kIndexSuffix));
  if (st.ok()) st = remove_file(segment_path(dir, base, format::kTimeIndexSuffix));
  if (st.ok()) st = rename_file(cleaned_path(dir, base, format::kLogSuffix), segment_path(dir, base, format::kLogSuffix));
  if (!st.ok()) {
    // Not committed: undo (what is left undone, recovery undoes). The old
    // indexes may be gone; readers and recovery rebuild them.
    (void)abandon_swap(dir, base);
    return st;
  }
  KAPPA_RETURN_IF_ERROR(sync_dir(dir));
  return complete_swap(dir, base, std::vector<int64_t>(group.begin() + 1, group.end()));
}

// The segments a committed swap replaces, from its manifest. nullopt if
// there is none (or it is unreadable).
static std::optional<std::vector<int64_t>> read_manifest(const std::string& dir, int64_t base) {
  std::string text;
  if (!read_small_file(manifest_path(dir, base), &text, 1u << 20).ok()) return std::nullopt;
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) return std::nullopt;  // torn: written before the commit, so never is
    int64_t b = 0;
    auto r = std::from_chars(text.data() + pos, text.data() + nl, b);
    if (r.ec != std::errc() || r.ptr != text.data() + nl || b <= base) return std::nullopt;
    out.push_back(b);
    pos = nl + 1;
  }
  return out;
}

Status abandon_swap(const std::string& dir, int64_t base) {
  // The manifest goes first: without it nothing can look committed.
  KAPPA_RETURN_IF_ERROR(remove_file(manifest_path(dir, base)));
  KAPPA_RETURN_IF_ERROR(sync_dir(dir));
  for (const char* suffix : {format::kIndexSuffix, format::kTimeIndexSuffix, format::kLogSuffix})
    KAPPA_RETURN_IF_ERROR(remove_file(cleaned_path(dir, base, suffix)));
  return sync_dir(dir);
}

Status finish_interrupted_swaps(const std::string& dir, const std::string& what, std::vector<std::string>* notes) {
  KAPPA_ASSIGN_OR_RETURN(auto names, list_dir(dir));
  std::set<int64_t> manifests, cleaned_logs, leftovers;
  for (const auto& n : names) {
    if (auto b = parse_segment_name(n, format::kSwapManifestSuffix)) manifests.insert(*b);
    if (!n.ends_with(format::kCleanedSuffix)) continue;
    std::string_view stem(n.data(), n.size() - std::char_traits<char>::length(format::kCleanedSuffix));
    if (auto b = parse_segment_name(stem, format::kLogSuffix)) cleaned_logs.insert(*b);
    if (auto b = parse_segment_name(stem, format::kIndexSuffix)) leftovers.insert(*b);
    if (auto b = parse_segment_name(stem, format::kTimeIndexSuffix)) leftovers.insert(*b);
  }
  // Committed exactly when the manifest is there and B0.log.cleaned is not
  // (renaming it was the commit; undoing removes the manifest first).
  std::set<int64_t> committed;
  for (int64_t base : manifests)
    if (!cleaned_logs.count(base)) committed.insert(base);
  for (int64_t base : cleaned_logs) leftovers.insert(base);
  for (int64_t base : manifests) leftovers.insert(base);
  KAPPA_ASSIGN_OR_RETURN(auto bases, list_segments(dir));
  for (int64_t base : leftovers) {
    if (committed.count(base)) continue;
    KAPPA_RETURN_IF_ERROR(abandon_swap(dir, base));
    notes->push_back(what + ": removed the unfinished compaction of segment " + segment_stem(base) +
                     format::kLogSuffix + " (interrupted before its swap; the original is intact)");
  }
  for (int64_t base : committed) {
    std::vector<int64_t> replaced;
    auto listed = read_manifest(dir, base);
    if (!listed)
      return Status::Corruption(what + ": the compaction manifest " + manifest_path(dir, base) +
                                " is unreadable; the segments it lists must be removed by hand (see "
                                "kappa(1), FILES)");
    for (int64_t b : *listed)
      if (std::binary_search(bases.begin(), bases.end(), b)) replaced.push_back(b);
    if (!std::binary_search(bases.begin(), bases.end(), base)) {
      // B0 itself went since (retention): its replaced segments still go,
      // its cleaned indexes describe nothing.
      for (int64_t b : replaced) KAPPA_RETURN_IF_ERROR(remove_segment(dir, b));
      for (const char* suffix : {format::kIndexSuffix, format::kTimeIndexSuffix})
        KAPPA_RETURN_IF_ERROR(remove_file(cleaned_path(dir, base, suffix)));
      KAPPA_RETURN_IF_ERROR(sync_dir(dir));
      KAPPA_RETURN_IF_ERROR(remove_file(manifest_path(dir, base)));
      continue;
    }
    KAPPA_RETURN_IF_ERROR(complete_swap(dir, base, replaced));
    notes->push_back(what + ": finished the interrupted compaction of segment " + segment_stem(base) +
                     format::kLogSuffix + " (" + std::to_string(replaced.size()) + " replaced segment(s) removed)");
  }
  return Status::OK();
}

}  // namespace kappa
