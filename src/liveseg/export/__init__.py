"""liveseg.export"""
