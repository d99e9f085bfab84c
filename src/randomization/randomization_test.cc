// Unit tests of the randomization engine: generator, permuted blocks, minimization, commitment
// and simulation. Every test uses a fixed seed, so the statistical checks are deterministic.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "protocol/protocol.h"
#include "randomization/blocks.h"
#include "randomization/commitment.h"
#include "randomization/design.h"
#include "randomization/minimization.h"
#include "randomization/random.h"
#include "randomization/simulate.h"

namespace trial::randomization {
namespace {

Seed TestSeed(uint8_t salt = 0) {
  Seed s{};
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(i * 7 + salt);
  return s;
}

Design OneToOne() {
  Design d;
  d.arms = {{"TCZ", 1}, {"PBO", 1}};
  d.block_sizes = {2, 4};
  d.factors = {{"site", {"S1", "S2", "S3", "S4", "S5"}, 1.0},
               {"ild_at_baseline", {"present", "absent"}, 1.0}};
  return d;
}

double ChiSquare(const std::vector<int>& observed, const std::vector<double>& expected_p) {
  int n = 0;
  for (int o : observed) n += o;
  double chi = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    double e = n * expected_p[i];
    chi += (observed[i] - e) * (observed[i] - e) / e;
  }
  return chi;
}

TEST(RandomTest, SameSeedSameSequenceDifferentSeedDifferent) {
  Random a(TestSeed()), b(TestSeed()), c(TestSeed(1));
  std::vector<uint64_t> va, vb, vc;
  for (int i = 0; i < 100; ++i) {
    va.push_back(a.Next());
    vb.push_back(b.Next());
    vc.push_back(c.Next());
  }
  EXPECT_EQ(va, vb);
  EXPECT_NE(va, vc);
}

TEST(RandomTest, KnownAnswerFirstBlockIsSha256OfSeedAndZeroCounter) {
  Seed zero{};
  Random r(zero);
  std::string in(40, '\0');
  Seed h = Sha256(in);
  uint64_t expected = 0;
  for (int b = 0; b < 8; ++b) expected = (expected << 8) | h[static_cast<size_t>(b)];
  EXPECT_EQ(r.Next(), expected);
  // SHA-256 of the empty string, a published test vector.
  EXPECT_EQ(SeedToHex(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(RandomTest, HexRoundTripAndErrors) {
  Seed s = TestSeed(3);
  auto back = SeedFromHex(SeedToHex(s));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, s);
  EXPECT_FALSE(SeedFromHex("abc").has_value());
  std::string bad(64, 'g');
  auto r = SeedFromHex(bad);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("hex"), std::string::npos);
}

TEST(RandomTest, UniformIsUnbiased) {
  Random r(TestSeed());
  std::vector<int> counts(6, 0);
  for (int i = 0; i < 60000; ++i) {
    int v = r.Uniform(6);
    ASSERT_GE(v, 0);
    ASSERT_LT(v, 6);
    ++counts[static_cast<size_t>(v)];
  }
  // 0.999 quantile of chi-square with 5 degrees of freedom.
  EXPECT_LT(ChiSquare(counts, std::vector<double>(6, 1.0 / 6)), 20.515);
  EXPECT_EQ(r.Uniform(1), 0);
  EXPECT_EQ(r.Uniform(0), 0);
  EXPECT_EQ(r.Uniform(-3), 0);
  for (int i = 0; i < 1000; ++i) {
    double x = r.UniformReal();
    ASSERT_GE(x, 0.0);
    ASSERT_LT(x, 1.0);
  }
}

TEST(BlocksTest, SameSeedSameListDifferentSeedDifferent) {
  Design d = OneToOne();
  auto a = GenerateAll(d, TestSeed(), 30);
  auto b = GenerateAll(d, TestSeed(), 30);
  auto c = GenerateAll(d, TestSeed(9), 30);
  ASSERT_EQ(a.size(), 10u);
  EXPECT_EQ(*Commitment(a, TestSeed(), d), *Commitment(b, TestSeed(), d));
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_GE(a[i].entries.size(), 30u);
    for (size_t j = 0; j < std::min(a[i].entries.size(), c[i].entries.size()); ++j) {
      differs = differs || a[i].entries[j].arm != c[i].entries[j].arm;
    }
  }
  EXPECT_TRUE(differs);
}

TEST(BlocksTest, ExtensionKeepsUsedEntriesAndIsReproducible) {
  Design d = OneToOne();
  const std::string key = "site=S1,ild_at_baseline=present";
  Random r1 = StratumRandom(TestSeed(), key);
  AllocationList list = GenerateList(d, key, r1, 10);
  const auto before = list.entries;
  // Extension by a generator recreated from seed + stratum at the recorded position.
  Random resumed = StratumRandom(TestSeed(), key, list.next_counter);
  ASSERT_TRUE(Extend(d, list, resumed, 20).has_value());
  ASSERT_GE(list.entries.size(), before.size() + 20);
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(list.entries[i].arm, before[i].arm);
  // The same as generating the longer list at once.
  AllocationList whole = Regenerate(d, TestSeed(), key, list.blocks);
  ASSERT_EQ(whole.entries.size(), list.entries.size());
  for (size_t i = 0; i < whole.entries.size(); ++i) {
    EXPECT_EQ(whole.entries[i].arm, list.entries[i].arm);
    EXPECT_EQ(whole.entries[i].block, list.entries[i].block);
    EXPECT_EQ(whole.entries[i].position, static_cast<int>(i) + 1);
  }
  // A generator at the wrong position is refused and the list is unchanged.
  Random wrong = StratumRandom(TestSeed(), key, 0);
  const size_t size = list.entries.size();
  auto r = Extend(d, list, wrong, 4);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(list.entries.size(), size);
}

TEST(BlocksTest, WithinStratumImbalanceNeverExceedsHalfTheLargestBlock) {
  Design d = OneToOne();
  d.block_sizes = {2, 4, 6};
  for (int l = 0; l < 1000; ++l) {
    Random r = StratumRandom(TestSeed(), "list" + std::to_string(l));
    AllocationList list = GenerateList(d, "s", r, 100);
    int diff = 0, max_diff = 0;
    for (const auto& e : list.entries) {
      diff += e.arm == "TCZ" ? 1 : -1;
      max_diff = std::max(max_diff, std::abs(diff));
      ASSERT_LE(std::abs(diff), 3) << "list " << l << " position " << e.position;
    }
    EXPECT_LE(max_diff, 3);
    // Balanced at every block end.
    for (size_t i = 0; i + 1 < list.entries.size(); ++i) {
      if (list.entries[i].block != list.entries[i + 1].block) {
        int d2 = 0;
        for (size_t k = 0; k <= i; ++k) d2 += list.entries[k].arm == "TCZ" ? 1 : -1;
        ASSERT_EQ(d2, 0);
      }
    }
  }
}

TEST(BlocksTest, BlockSizesAndArmsUsedWithConfiguredFrequencies) {
  Design d = OneToOne();
  std::map<int, int> sizes;
  std::vector<int> first_arm(2, 0);
  for (int l = 0; l < 2000; ++l) {
    Random r = StratumRandom(TestSeed(5), "stratum" + std::to_string(l));
    AllocationList list = GenerateList(d, "s", r, 40);
    int block = 0;
    for (const auto& e : list.entries) {
      if (e.block != block) {
        block = e.block;
        ++sizes[e.block_size];
        ++first_arm[e.arm == "TCZ" ? 0 : 1];
      }
    }
  }
  ASSERT_EQ(sizes.size(), 2u);
  // 0.999 quantile of chi-square with 1 degree of freedom.
  EXPECT_LT(ChiSquare({sizes[2], sizes[4]}, {0.5, 0.5}), 10.828);
  EXPECT_LT(ChiSquare(first_arm, {0.5, 0.5}), 10.828);
}

TEST(BlocksTest, TwoToOneAndThreeArms) {
  Design d;
  d.arms = {{"A", 2}, {"B", 1}};
  d.block_sizes = {3, 6};
  Random r = StratumRandom(TestSeed(), "x");
  AllocationList list = GenerateList(d, "x", r, 3000);
  int a = 0, b = 0;
  for (const auto& e : list.entries) (e.arm == "A" ? a : b)++;
  EXPECT_EQ(a, 2 * b);
  // Arms at the first position of blocks follow 2:1.
  std::vector<int> firsts(2, 0);
  int block = 0;
  for (const auto& e : list.entries) {
    if (e.block != block) {
      block = e.block;
      ++firsts[e.arm == "A" ? 0 : 1];
    }
  }
  EXPECT_LT(ChiSquare(firsts, {2.0 / 3, 1.0 / 3}), 10.828);

  Design three;
  three.arms = {{"A", 1}, {"B", 1}, {"C", 1}};
  three.block_sizes = {3, 6};
  Random r3 = StratumRandom(TestSeed(), "y");
  AllocationList l3 = GenerateList(three, "y", r3, 3000);
  std::map<std::string, int> counts;
  std::vector<int> pos1(3, 0);
  block = 0;
  for (const auto& e : l3.entries) {
    ++counts[e.arm];
    if (e.block != block) {
      block = e.block;
      ++pos1[static_cast<size_t>(e.arm[0] - 'A')];
    }
  }
  EXPECT_EQ(counts["A"], counts["B"]);
  EXPECT_EQ(counts["B"], counts["C"]);
  // 0.999 quantile with 2 degrees of freedom.
  EXPECT_LT(ChiSquare(pos1, {1.0 / 3, 1.0 / 3, 1.0 / 3}), 13.816);

  Design bad = d;
  bad.block_sizes = {4};  // not a multiple of 3
  EXPECT_FALSE(Validate(bad).has_value());
}

TEST(MinimizationTest, PicksTheArmThatReducesImbalance) {
  Design d = OneToOne();
  d.high_probability = 1.0;
  Minimizer m(d);
  ASSERT_TRUE(m.Add({0, 0}, 0).has_value());
  ASSERT_TRUE(m.Add({0, 1}, 0).has_value());
  Random r(TestSeed());
  // Site S1 has two on arm 0: arm 1 must be chosen with p = 1.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(*m.Choose({0, 0}, r), 1);
  // Bad levels are errors, not crashes.
  EXPECT_FALSE(m.Choose({7, 0}, r).has_value());
  EXPECT_FALSE(m.Add({0}, 0).has_value());
  EXPECT_FALSE(m.Add({0, 0}, 5).has_value());
}

TEST(MinimizationTest, TiesAreRandomAndPreferredArmHasProbabilityP) {
  Design d = OneToOne();
  d.high_probability = 0.8;
  Random r(TestSeed());
  std::vector<int> ties(2, 0);
  for (int i = 0; i < 4000; ++i) ++ties[static_cast<size_t>(*Minimize(d, {}, {0, 0}, r))];
  EXPECT_LT(ChiSquare(ties, {0.5, 0.5}), 10.828);
  std::vector<int> pref(2, 0);
  std::vector<PriorAllocation> prior = {{{0, 0}, 0}};
  for (int i = 0; i < 4000; ++i) ++pref[static_cast<size_t>(*Minimize(d, prior, {0, 0}, r))];
  EXPECT_LT(ChiSquare(pref, {0.2, 0.8}), 10.828);
}

TEST(MinimizationTest, UnequalRatioAndVariance) {
  Design d;
  d.arms = {{"A", 2}, {"B", 1}};
  d.block_sizes = {3};
  d.factors = {{"f", {"x"}, 1.0}};
  d.high_probability = 1.0;
  d.measure = ImbalanceMeasure::kVariance;
  Minimizer m(d);
  Random r(TestSeed());
  std::vector<int> counts(2, 0);
  for (int i = 0; i < 300; ++i) {
    int arm = *m.Choose({0}, r);
    ASSERT_TRUE(m.Add({0}, arm).has_value());
    ++counts[static_cast<size_t>(arm)];
  }
  EXPECT_NEAR(counts[0], 200, 2);
  EXPECT_NEAR(counts[1], 100, 2);
}

TEST(SimulateTest, MinimizationKeepsMarginalImbalanceSmallerThanBlocks) {
  Design blocks = OneToOne();
  Design minim = OneToOne();
  minim.method = RandomizationMethod::kMinimization;
  SimulationOptions o;
  o.subjects = 110;
  o.sites = 5;
  o.runs = 500;
  auto rb = Simulate(blocks, o, TestSeed(), {});
  auto rm = Simulate(minim, o, TestSeed(), {});
  ASSERT_TRUE(rb.has_value());
  ASSERT_TRUE(rm.has_value());
  EXPECT_LT(rm->overall_imbalance.mean, rb->overall_imbalance.mean);
  EXPECT_LE(rm->overall_imbalance.p95, rb->overall_imbalance.p95);
  // Blocks of 2 and 4: a stratum is never more than 2 apart.
  EXPECT_LE(rb->stratum_imbalance.max, 2.0);
  EXPECT_GT(rb->predictability.mean, 0.5);
  // Reproducible from the seed.
  auto again = Simulate(blocks, o, TestSeed(), {});
  EXPECT_EQ(again->overall_imbalance.mean, rb->overall_imbalance.mean);
  EXPECT_EQ(again->predictability.mean, rb->predictability.mean);
}

TEST(SimulateTest, ProgressAndBadOptions) {
  Design d = OneToOne();
  SimulationOptions o;
  o.runs = 250;
  std::vector<int> seen;
  ASSERT_TRUE(Simulate(d, o, TestSeed(), [&](int p) { seen.push_back(p); }).has_value());
  ASSERT_EQ(seen.size(), 100u);
  EXPECT_EQ(seen.back(), 100);
  o.runs = 0;
  auto r = Simulate(d, o, TestSeed(), {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST(SimulateTest, Summarize) {
  Distribution d = Summarize({4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(d.mean, 2.5);
  EXPECT_DOUBLE_EQ(d.median, 2.5);
  EXPECT_DOUBLE_EQ(d.p95, 4);
  EXPECT_DOUBLE_EQ(d.max, 4);
}

class CommitmentTest : public ::testing::Test {
 protected:
  Design d_ = OneToOne();
  Seed seed_ = TestSeed();
  std::vector<AllocationList> lists_ = GenerateAll(d_, seed_, 24);
  std::string commitment_ = *Commitment(lists_, seed_, d_);
};

TEST_F(CommitmentTest, Verifies) {
  EXPECT_EQ(commitment_.size(), 64u);
  Verification v = Verify(commitment_, lists_, seed_, d_);
  EXPECT_TRUE(v.ok) << v.detail;
  auto text = CanonicalText(lists_, seed_, d_);
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(text->rfind("trial-randomization-commitment v1\nseed ", 0), 0u);
  EXPECT_NE(text->find("\nsite=S1,ild_at_baseline=absent|1|1|"), std::string::npos);
  // The order of the lists does not matter: the text is sorted.
  auto reversed = lists_;
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(*Commitment(reversed, seed_, d_), commitment_);
}

TEST_F(CommitmentTest, DetectsAChangedEntry) {
  auto changed = lists_;
  auto& e = changed[3].entries[5];
  e.arm = e.arm == "TCZ" ? "PBO" : "TCZ";
  Verification v = Verify(commitment_, changed, seed_, d_);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.detail.find("entry 6"), std::string::npos) << v.detail;
  EXPECT_NE(*Commitment(changed, seed_, d_), commitment_);
}

TEST_F(CommitmentTest, DetectsSwappedOrder) {
  auto swapped = lists_;
  auto& entries = swapped[0].entries;
  size_t i = 0;
  while (i + 1 < entries.size() && entries[i].arm == entries[i + 1].arm) ++i;
  ASSERT_LT(i + 1, entries.size());
  std::swap(entries[i].arm, entries[i + 1].arm);
  EXPECT_FALSE(Verify(commitment_, swapped, seed_, d_).ok);
  EXPECT_NE(*Commitment(swapped, seed_, d_), commitment_);
}

TEST_F(CommitmentTest, DetectsADifferentSeedOrDesign) {
  EXPECT_FALSE(Verify(commitment_, lists_, TestSeed(1), d_).ok);
  Design other = d_;
  other.block_sizes = {2, 4, 6};
  EXPECT_FALSE(Verify(commitment_, lists_, seed_, other).ok);
  // A dropped entry.
  auto shorter = lists_;
  shorter[1].entries.pop_back();
  EXPECT_FALSE(Verify(commitment_, shorter, seed_, d_).ok);
}

TEST(DesignTest, FromTheProtocolFolder) {
  auto p = protocol::Load("protocols/promis-mda5");
  ASSERT_TRUE(p.has_value()) << p.error().message;
  const auto& rd = (*p)->randomization;
  EXPECT_EQ(rd.method, protocol::RandomizationMethod::kPermutedBlocks);
  EXPECT_EQ(rd.block_sizes, (std::vector<int>{2, 4}));
  ASSERT_EQ(rd.factors.size(), 2u);
  EXPECT_TRUE(rd.factors[0].from_sites);
  EXPECT_EQ(rd.factors[1].values, (std::vector<std::string>{"present", "absent"}));
  EXPECT_DOUBLE_EQ(rd.minimization.high_probability, 0.8);
  auto d = FromProtocol(**p, {"PUMCH", "RJH"});
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(AllStrata(*d).size(), 4u);
  EXPECT_EQ(*StratumKey(*d, {"RJH", "absent"}), "site=RJH,ild_at_baseline=absent");
  auto bad = StratumKey(*d, {"RJH", "maybe"});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("ild_at_baseline"), std::string::npos);
  EXPECT_FALSE(FromProtocol(**p, {}).has_value());
}

}  // namespace
}  // namespace trial::randomization
