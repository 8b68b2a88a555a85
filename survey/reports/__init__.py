"""The published report "Báo cáo kết quả đo lường sự hài lòng": HTML and PDF (WeasyPrint) of a published run."""
