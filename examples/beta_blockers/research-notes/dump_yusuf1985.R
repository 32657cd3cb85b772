# Writes R's metadat dataset dat.yusuf1985 (Yusuf et al. 1985, tables 6, 9, 10, 11, 12a, 12b as
# transcribed by W. Viechtbauer) to a CSV file with each row's number in the dataset, the input
# of make_records.py. Run: Rscript dump_yusuf1985.R yusuf1985.csv
# (Debian: apt-get install r-cran-metadat; the records were made with metadat 1.2-0.)
library(metadat)
out <- commandArgs(trailingOnly = TRUE)[1]
d <- dat.yusuf1985
d$row <- seq_len(nrow(d))
write.csv(d, out, row.names = FALSE, na = "")
cat("metadat", as.character(packageVersion("metadat")), "\n")
